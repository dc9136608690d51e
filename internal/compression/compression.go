// Package compression opens the compressing writers the package formats
// use (gzip, xz, zstd), configured so that output is reproducible and
// memory stays bounded whatever the input size: no writer buffers more
// than a fixed window, and none records a timestamp or host.
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
		return gzip.NewWriterLevel(w, level)
	case Xz:
		// ulikunitz/xz has no presets; the dictionary is what bounds
		// memory, and a level is accepted for compatibility only.
		cfg := xz.WriterConfig{DictCap: xzDictCap, CheckSum: xz.CRC64}
		return cfg.NewWriter(w)
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
		return zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(true),
		)
	}
	return nil, fmt.Errorf("unknown compression %q (gzip, xz, zstd or none)", algo)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
