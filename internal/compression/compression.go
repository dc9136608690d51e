package compression

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Algorithm names, as specs spell them.
const (
	None = "none"
	Gzip = "gzip"
	Xz   = "xz"
	Zstd = "zstd"
)

// Memory bounds. xz's matcher costs about ten times its dictionary, and
// zstd's about three times its window, so these keep a whole build under
// 64 MiB with room for the tar writer and file buffers.
const (
	xzDictCap  = 2 << 20
	zstdWindow = 4 << 20
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
		// memory, and a level is accepted for compatibility only.
		cfg := xz.WriterConfig{DictCap: xzDictCap, CheckSum: xz.CRC64}
		z, err := cfg.NewWriter(w)
		if err != nil {
			return nil, err
		}
		return newAsync(z), nil
	case Zstd:
		if level == 0 {
			level = 3
		}
		if level < 1 || level > 22 {
			return nil, fmt.Errorf("zstd level %d is not between 1 and 22", level)
		}
		// One encoder goroutine: klauspost's concurrent block jobs hold
		// several windows at once (70 MB at a 2 MiB window) and measured
		// no faster here.
		z, err := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(true),
		)
		if err != nil {
			return nil, err
		}
		return newAsync(z), nil
	}
	return nil, fmt.Errorf("unknown compression %q (gzip, xz, zstd or none)", algo)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

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
// the compressor when all are in flight.
func (a *async) flush() error {
	// After fail is closed, err is set and no longer written: reading it
	// needs no more synchronisation. (Waiting for done here would hang:
	// the goroutine only finishes once Close closes work.)
	select {
	case <-a.fail:
		return a.err
	case a.work <- a.buf:
	}
	// The chunk is the goroutine's now: until a free one arrives, there is
	// none here, or Close would hand the same chunk over twice and the
	// goroutine would block returning one chunk too many.
	a.buf = nil
	select {
	case <-a.fail:
		return a.err
	case a.buf = <-a.free:
	}
	return nil
}

// Close compresses what is left, closes the compressor and reports the
// first error the goroutine met.
func (a *async) Close() error {
	if a.closed {
		<-a.done
		return a.err
	}
	a.closed = true
	if len(a.buf) > 0 {
		select {
		case <-a.fail:
		case a.work <- a.buf:
		}
	}
	close(a.work)
	<-a.done
	return a.err
}
