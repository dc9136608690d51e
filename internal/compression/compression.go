package compression

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Algorithm names, as specs spell them.
const (
	None = "none"
	Gzip = "gzip"
	Xz   = "xz"
	Zstd = "zstd"
)

// zstd's memory: each concurrent job holds four windows of input and its
// encoder's tables. Two jobs at a 512 KiB window peaked at 25 MiB RSS
// compressing 100 MiB, at a 1 MiB window at 40 MiB; the smaller window
// costs about 1% of size. (xz's bounds are in xz.go.)
const (
	zstdWindow = 512 << 10
	zstdJobs   = 2
)

// Extension is the file-name suffix of an algorithm: ".gz", ".xz", ".zst",
// or "" for none.
func Extension(algo string) string {
	switch algo {
	case Gzip:
		return ".gz"
	case Xz:
		return ".xz"
	case Zstd:
		return ".zst"
	}
	return ""
}

// NewWriter returns a writer that compresses into w. level 0 means the
// algorithm's usual default (gzip 6, xz's only level, zstd 3). Close
// flushes the compressor but does not close w.
func NewWriter(w io.Writer, algo string, level int) (io.WriteCloser, error) {
	switch algo {
	case None, "":
		return nopCloser{w}, nil
	case Gzip:
		if level == 0 {
			level = gzip.DefaultCompression
		}
		if level < gzip.HuffmanOnly || level > gzip.BestCompression {
			return nil, fmt.Errorf("gzip level %d is not between 1 and 9", level)
		}
		// The header carries no name and a zero mtime; klauspost's writer
		// writes the same OS byte (unknown) everywhere.
		z, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, err
		}
		return newAsync(z), nil
	case Xz:
		// ulikunitz/xz has no presets; the dictionary is what bounds
		// memory, and a level is accepted for compatibility only. The
		// writer runs its own goroutines, so it needs no async stage.
		return newXzWriter(w), nil
	case Zstd:
		if level == 0 {
			level = 3
		}
		if level < 1 || level > 22 {
			return nil, fmt.Errorf("zstd level %d is not between 1 and 22", level)
		}
		// Two concurrent block jobs, as zstd -T2 (and dpkg-deb on two
		// cores) runs. The jobs are cut at offsets fixed by the window, so
		// the output does not depend on the number of cores or on
		// scheduling; the concurrency is fixed too, since klauspost's
		// output with one job differs. The jobs run in goroutines of their
		// own, so, as for xz, an async stage in front would only copy the
		// stream once more (without it, 20,000 small files took 6% less
		// CPU).
		z, err := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(zstdJobs),
			zstd.WithConcurrentBlocks(true),
			zstd.WithLowerEncoderMem(true),
			zstd.WithEncoderCRC(true),
		)
		if err != nil {
			return nil, err
		}
		return z, nil
	}
	return nil, fmt.Errorf("unknown compression %q (gzip, xz, zstd or none)", algo)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// ErrWindow is wrapped by the errors of a reader from NewReader when the
// stream needs more history than the maxWindow it was given.
var ErrWindow = errors.New("compressed stream needs a larger window than allowed")

// NewReader returns a reader of the data compressed in r with algo.
// Packages are untrusted, so what the decompressor holds is bounded:
// maxWindow bounds the history, which each stream chooses for itself (a
// zstd window, an xz dictionary, up to 4 GiB); gzip's is 32 KiB. A zstd
// frame that asks for more is refused; an xz dictionary is cut to
// maxWindow, which fails only if the stream does refer back further. The
// errors of both wrap ErrWindow. The reader checks the stream's checksums
// as it reaches them. Close releases the decompressor but does not close r.
func NewReader(r io.Reader, algo string, maxWindow int64) (io.ReadCloser, error) {
	switch algo {
	case None, "":
		return io.NopCloser(r), nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		return z, nil
	case Xz:
		br, ok := r.(*bufio.Reader)
		if !ok {
			br = bufio.NewReaderSize(r, 4096)
		}
		return io.NopCloser(newXzReader(br, maxWindow)), nil
	case Zstd:
		z, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1), // decode in the caller's goroutine
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(uint64(max(maxWindow, zstd.MinWindowSize))))
		if err != nil {
			return nil, err
		}
		return &zstdReader{z}, nil
	}
	return nil, fmt.Errorf("unknown compression %q (gzip, xz, zstd or none)", algo)
}

type zstdReader struct{ z *zstd.Decoder }

func (r *zstdReader) Read(p []byte) (int, error) {
	n, err := r.z.Read(p)
	// Streaming, klauspost reports a window over the bound with either
	// error, depending on where it noticed.
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = fmt.Errorf("zstd: %w: %v", ErrWindow, err)
	}
	return n, err
}

func (r *zstdReader) Close() error {
	r.z.Close()
	return nil
}

// asyncChunk and asyncChunks size the hand-over between the goroutine
// producing the stream (reading files, hashing, tar framing) and the one
// compressing it: three 1 MiB chunks keep both busy on two cores.
const (
	asyncChunk  = 1 << 20
	asyncChunks = 3
)

// async runs a compressor in its own goroutine, so that compressing and
// everything upstream of it (reading sources, hashing, tar headers)
// overlap instead of taking turns.
type async struct {
	w      io.WriteCloser
	buf    []byte
	work   chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // written by the goroutine before fail or done is closed
	fail   chan struct{}
	closed bool
}

func newAsync(w io.WriteCloser) *async {
	a := &async{w: w, work: make(chan []byte, asyncChunks), free: make(chan []byte, asyncChunks),
		done: make(chan struct{}), fail: make(chan struct{})}
	for range asyncChunks - 1 {
		a.free <- make([]byte, 0, asyncChunk)
	}
	a.buf = make([]byte, 0, asyncChunk)
	go a.run(a.work)
	return a
}

func (a *async) run(work <-chan []byte) {
	defer close(a.done)
	for b := range work {
		if a.err == nil {
			if _, err := a.w.Write(b); err != nil {
				a.err = err
				close(a.fail)
			}
		}
		a.free <- b[:0]
	}
	if a.err == nil {
		a.err = a.w.Close()
	}
}

func (a *async) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if len(a.buf) == cap(a.buf) {
			if err := a.flush(); err != nil {
				return n, err
			}
		}
		m := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+m]
		p = p[m:]
		n += m
	}
	return n, nil
}

// flush hands the current chunk over and takes a free one, waiting for
// the compressor when all are in flight. Neither wait can last: after an
// error the goroutine still drains work and returns every buffer.
func (a *async) flush() error {
	if a.failed() {
		return a.err
	}
	a.work <- a.buf
	a.buf = <-a.free
	if a.failed() {
		return a.err
	}
	return nil
}

// failed reports whether the goroutine met an error; once it has, err is
// set and no longer written, so reading it needs no more synchronisation.
func (a *async) failed() bool {
	select {
	case <-a.fail:
		return true
	default:
		return false
	}
}

// Close compresses what is left, closes the compressor and reports the
// first error the goroutine met.
func (a *async) Close() error {
	if a.closed {
		<-a.done
		return a.err
	}
	a.closed = true
	if len(a.buf) > 0 && !a.failed() {
		a.work <- a.buf
	}
	a.buf = nil
	close(a.work)
	<-a.done
	return a.err
}
