package pkgtar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/packhouse/packhouse/internal/spec"
)

// bufSize is the copy buffer, the only per-file memory.
const bufSize = 256 << 10

// Writer writes spec contents into a tar stream.
type Writer struct {
	TW *tar.Writer
	// Prefix goes before each path without its leading slash: "./" makes
	// deb's "./usr/bin/foo", "" makes "usr/bin/foo".
	Prefix string
	// Format is the tar format of every header; FormatGNU for deb (what
	// dpkg-deb writes), FormatPAX elsewhere.
	Format tar.Format
	buf    []byte
}

// NewWriter returns a Writer over tw.
func NewWriter(tw *tar.Writer, prefix string, format tar.Format) *Writer {
	return &Writer{TW: tw, Prefix: prefix, Format: format, buf: make([]byte, bufSize)}
}

// Name is the archive name of a destination; directories end in "/".
func (w *Writer) Name(c *spec.Content) string {
	name := w.Prefix + strings.TrimPrefix(c.Destination, "/")
	if c.Type == spec.TypeDir && !strings.HasSuffix(name, "/") {
		name += "/"
	}
	return name
}

// Header is the tar header for c. Owners are written by name with id 0:
// the ids of non-root users differ between systems, and dpkg, pacman and
// apk all prefer the name when the installing system knows it.
func (w *Writer) Header(c *spec.Content) *tar.Header {
	h := &tar.Header{
		Name:    w.Name(c),
		Mode:    int64(c.UnixMode() & 0o7777),
		Uname:   c.Owner,
		Gname:   c.Group,
		ModTime: c.MTime,
		Format:  w.Format,
	}
	if h.Uname == "" {
		h.Uname = "root"
	}
	if h.Gname == "" {
		h.Gname = "root"
	}
	switch c.Type {
	case spec.TypeDir:
		h.Typeflag = tar.TypeDir
	case spec.TypeSymlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = c.Target
	default:
		h.Typeflag = tar.TypeReg
		h.Size = c.Size
	}
	return h
}

// InPayload reports whether c has an entry in a payload: ghosts do not.
func InPayload(c *spec.Content) bool { return c.Type != spec.TypeGhost }

// Write writes c's header (with extra PAX records, if any) and, for a
// file, its body, copied also into each of sinks (hashes, typically).
func (w *Writer) Write(ctx context.Context, c *spec.Content, pax map[string]string, sinks ...io.Writer) error {
	h := w.Header(c)
	if len(pax) > 0 {
		h.PAXRecords = pax
	}
	if err := w.TW.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", c.Destination, err)
	}
	if h.Typeflag != tar.TypeReg {
		return nil
	}
	var dst io.Writer = w.TW
	if len(sinks) > 0 {
		dst = io.MultiWriter(append([]io.Writer{w.TW}, sinks...)...)
	}
	return CopyFile(ctx, dst, c, w.buf)
}

// ErrChanged means a source file's size changed between resolving the
// spec and writing it, so the header already written is wrong.
var ErrChanged = errors.New("changed while it was being packaged")

// CopyFile streams c.Source into dst through buf, exactly c.Size bytes,
// stopping early when ctx is cancelled.
func CopyFile(ctx context.Context, dst io.Writer, c *spec.Content, buf []byte) error {
	f, err := openSource(c.Source)
	if err != nil {
		return err
	}
	defer f.Close()
	// Each read asks for one byte more than is left, so that the read
	// that ends the file also shows that it did not grow: a small file
	// costs one read, not two.
	var n int64
	short := false // the last read returned less than asked
	for n < c.Size || !short {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := int64(len(buf))
		if left := c.Size - n + 1; left < want {
			want = left
		}
		m, rerr := f.Read(buf[:want])
		if int64(m) > c.Size-n {
			return fmt.Errorf("%s: %w (grew past %d bytes)", c.Source, ErrChanged, c.Size)
		}
		if m > 0 {
			if _, err := dst.Write(buf[:m]); err != nil {
				return fmt.Errorf("%s: %w", c.Source, err)
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("%s: %w", c.Source, rerr)
		}
		short = int64(m) < want
	}
	if n != c.Size {
		return fmt.Errorf("%s: %w (shrank from %d to %d bytes)", c.Source, ErrChanged, c.Size, n)
	}
	return nil
}

// HashFile feeds c.Source through sinks, for formats that need a digest
// before the body (apk's per-file SHA-1 goes in the entry's header).
func HashFile(ctx context.Context, c *spec.Content, buf []byte, sinks ...io.Writer) error {
	return CopyFile(ctx, io.MultiWriter(sinks...), c, buf)
}

// Buffer returns the Writer's copy buffer, for HashFile.
func (w *Writer) Buffer() []byte { return w.buf }

// InstalledSize is the sum of the payload's file sizes, the number every
// format records (in its own unit).
func InstalledSize(p *spec.Package) int64 {
	var n int64
	for i := range p.Contents {
		c := &p.Contents[i]
		if c.Type == spec.TypeFile || c.Type == spec.TypeConfig || c.Type == spec.TypeConfigNoReplace {
			n += c.Size
		}
	}
	return n
}

// IsFile reports whether c has a body.
func IsFile(c *spec.Content) bool {
	return c.Type == spec.TypeFile || c.Type == spec.TypeConfig || c.Type == spec.TypeConfigNoReplace
}
