package rpm

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/ulikunitz/xz"

	compress "github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/spec"
)

// compression is a resolved payload compressor: the header's
// PAYLOADCOMPRESSOR/PAYLOADFLAGS values and the rpmlib() feature a reader
// needs for it.
type compression struct {
	name    string // PAYLOADCOMPRESSOR; empty for an uncompressed payload
	level   int
	feature dep // zero if any rpm reads it
}

// xzDictSizes are xz's preset dictionary sizes (xz(1), "-0" … "-9"), used
// so that a level means what it means to xz users.
var xzDictSizes = [10]int{256 << 10, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}

func resolveCompression(name string, level int) (compression, error) {
	switch name {
	case "", "gzip":
		if level == 0 {
			level = 6
		}
		if level < 1 || level > 9 {
			return compression{}, fmt.Errorf("%w: gzip level %d not in 1..9", ErrInvalid, level)
		}
		return compression{name: "gzip", level: level}, nil
	case "xz":
		// rpm's own default (w2.xzdio on RHEL); the encoder needs about
		// nine times the dictionary in memory, 2 MiB at level 2, 64 MiB at 9.
		if level == 0 {
			level = 2
		}
		if level < 1 || level > 9 {
			return compression{}, fmt.Errorf("%w: xz level %d not in 1..9", ErrInvalid, level)
		}
		return compression{name: "xz", level: level,
			feature: dep{"rpmlib(PayloadIsXz)", senseRPMLib | senseLess | senseEqual, "5.2-1"}}, nil
	case "zstd":
		if level == 0 {
			level = 3
		}
		if level < 1 || level > 22 {
			return compression{}, fmt.Errorf("%w: zstd level %d not in 1..22", ErrInvalid, level)
		}
		return compression{name: "zstd", level: level,
			feature: dep{"rpmlib(PayloadIsZstd)", senseRPMLib | senseLess | senseEqual, "5.4.18-1"}}, nil
	case "none":
		return compression{}, nil
	}
	return compression{}, fmt.Errorf("%w: unknown compression %q", ErrInvalid, name)
}

// flags is PAYLOADFLAGS: the level, as rpmbuild writes it ("9" for
// w9.gzdio), empty when uncompressed (w.ufdio).
func (c compression) flags() string {
	if c.name == "" {
		return ""
	}
	return strconv.Itoa(c.level)
}

// newWriter returns the payload's compressor. gzip and zstd are the
// deb writer's (package compression): they compress in goroutines of
// their own, beside reading, hashing and cpio framing, and zstd in two
// concurrent jobs at a 512 KiB window, which keeps a build under 64 MiB
// and makes payloads about 3% larger than rpmbuild's at the same level.
// xz at levels 1 and 2 (rpm's default) is the deb writer's too: blocks
// compressed by two goroutines with xz -1's 1 MiB dictionary, the output
// about as large as xz -2's; from level 3 up, one encoder with xz(1)'s
// dictionary for the level, slower and larger in memory, for those who
// ask for smaller packages.
func (c compression) newWriter(w io.Writer) (io.WriteCloser, error) {
	switch c.name {
	case "gzip":
		return compress.NewWriter(w, compress.Gzip, c.level)
	case "xz":
		if c.level <= 2 {
			return compress.NewWriter(w, compress.Xz, c.level)
		}
		return xz.WriterConfig{DictCap: xzDictSizes[c.level]}.NewWriter(w)
	case "zstd":
		return compress.NewWriter(w, compress.Zstd, c.level)
	}
	return nopCloser{w}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// file is one payload entry, resolved: what the header and the cpio
// archive say about it. It points at the caller's Content rather than
// copying it: with many files, this list is most of Write's memory.
type file struct {
	*spec.Content
	owner, group string
	mtime        uint32
	mode         uint16             // st_mode, type bits included
	size         int64              // content length in the payload
	digest       *[sha256.Size]byte // of a regular file's content
}

// payload is what writing the archive found out, which the headers record
// in front of it.
type payload struct {
	size        int64  // compressed, as stored after the header
	archiveSize int64  // uncompressed cpio archive
	digest      string // SHA-256 of the compressed payload (PAYLOADDIGEST)
	digestAlt   string // SHA-256 of the uncompressed archive (PAYLOADDIGESTALT)
	largeFiles  bool
	installSize int64
}

// plannedPayload is what is known of the payload before it is written:
// its installed size and whether it needs large-file (64-bit) fields.
func plannedPayload(files []file) payload {
	var pl payload
	for _, f := range files {
		if f.size > math.MaxUint32 {
			pl.largeFiles = true
		}
		pl.installSize += f.size
	}
	return pl
}

// countWriter counts and hashes what passes through it.
type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Files are read in chunks of chunkSize, at most chunks of them in flight
// between the reader and the compressor: that, the compressor's window and
// the header's file list are all Write holds in memory.
const (
	chunkSize = 256 << 10
	chunks    = 4
)

// chunk is a piece of a regular file's content on its way from the reader
// to the archive; the last one of a file carries its digest instead.
type chunk struct {
	buf    []byte // from the pool; nil on the last chunk
	digest *[sha256.Size]byte
	err    error
}

// writePayload streams every file once: through SHA-256 for the header's
// file digests, into the cpio archive, through the compressor, into out,
// hashing the archive before and after compression on the way. Reading and
// hashing the files runs beside compressing, which is the slow part.
func writePayload(ctx context.Context, out io.Writer, files []file, comp compression) (payload, error) {
	pl := plannedPayload(files)

	bw := bufio.NewWriterSize(out, chunkSize)
	compressed := &countWriter{w: bw, h: sha256.New()}
	cw, err := comp.newWriter(compressed)
	if err != nil {
		return pl, fmt.Errorf("rpm: payload compressor: %w", err)
	}
	archive := &countWriter{w: cw, h: sha256.New()}
	cp := &cpioWriter{w: archive, stripped: pl.largeFiles}

	ctx, cancel := context.WithCancel(ctx)
	pool := make(chan []byte, chunks)
	for range chunks {
		pool <- make([]byte, chunkSize)
	}
	ch := make(chan chunk, chunks)
	done := make(chan struct{})
	go func() {
		defer close(done)
		readFiles(ctx, files, pool, ch)
	}()
	// On every return, stop the reader and wait for it: it must not
	// touch files or sources after Write has returned.
	defer func() {
		cancel()
		<-done
	}()

	for i := range files {
		f := &files[i]
		if f.Type == spec.TypeGhost {
			continue
		}
		e := cpioEntry{
			index: i,
			name:  "." + f.Destination,
			ino:   uint32(i + 1),
			mode:  uint32(f.mode),
			mtime: f.mtime,
			size:  f.size,
		}
		if err := cp.Header(e); err != nil {
			return pl, fmt.Errorf("rpm: writing payload: %w", err)
		}
		switch f.Type {
		case spec.TypeDir:
		case spec.TypeSymlink:
			if _, err := io.WriteString(cp, f.Target); err != nil {
				return pl, fmt.Errorf("rpm: writing payload: %w", err)
			}
		default:
			for {
				var c chunk
				select {
				case c = <-ch:
				case <-ctx.Done():
					return pl, ctx.Err()
				}
				if c.err != nil {
					return pl, c.err
				}
				if c.buf == nil {
					f.digest = c.digest
					break
				}
				_, err := cp.Write(c.buf)
				pool <- c.buf[:cap(c.buf)]
				if err != nil {
					return pl, fmt.Errorf("rpm: writing payload: %w", err)
				}
			}
		}
	}
	if err := cp.Close(); err != nil {
		return pl, fmt.Errorf("rpm: writing payload: %w", err)
	}
	if err := cw.Close(); err != nil {
		return pl, fmt.Errorf("rpm: compressing payload: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return pl, fmt.Errorf("rpm: writing payload: %w", err)
	}
	pl.size = compressed.n
	pl.archiveSize = archive.n
	pl.digest = hex.EncodeToString(compressed.h.Sum(nil))
	pl.digestAlt = hex.EncodeToString(archive.h.Sum(nil))
	return pl, nil
}

// readFiles sends the content of every regular file in files, in order,
// as chunks on ch, each file's followed by its digest. It stops at the
// first error, which it sends, or when ctx is done.
func readFiles(ctx context.Context, files []file, pool chan []byte, ch chan<- chunk) {
	send := func(c chunk) bool {
		select {
		case ch <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for i := range files {
		f := &files[i]
		if !hasContent(f.Type) {
			continue
		}
		digest, err := readFile(ctx, f, pool, send)
		if err != nil {
			send(chunk{err: err})
			return
		}
		if !send(chunk{digest: digest}) {
			return
		}
	}
}

// readFile reads one file. The size in the header was taken before the
// payload was started (large-file mode depends on all sizes); a file that
// has changed since is an error, not a corrupt package.
func readFile(ctx context.Context, f *file, pool chan []byte, send func(chunk) bool) (*[sha256.Size]byte, error) {
	src, err := os.Open(f.Source)
	if err != nil {
		return nil, fmt.Errorf("rpm: %w", err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, fmt.Errorf("rpm: %w", err)
	}
	if st.Size() != f.size {
		return nil, fmt.Errorf("rpm: %s changed size while the package was written", f.Source)
	}
	h := sha256.New()
	var n int64
	for {
		var buf []byte
		select {
		case buf = <-pool:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		m, rerr := io.ReadFull(src, buf)
		if m > 0 {
			n += int64(m)
			if n > f.size {
				return nil, fmt.Errorf("rpm: %s grew while the package was written", f.Source)
			}
			h.Write(buf[:m])
			if !send(chunk{buf: buf[:m]}) {
				return nil, ctx.Err()
			}
		} else {
			pool <- buf
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("rpm: reading %s: %w", f.Source, rerr)
		}
	}
	if n != f.size {
		return nil, fmt.Errorf("rpm: %s shrank while the package was written", f.Source)
	}
	sum := new([sha256.Size]byte)
	h.Sum(sum[:0])
	return sum, nil
}
