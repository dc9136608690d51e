package archive

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/klauspost/compress/flate"

	"github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/pkgtar"
	"github.com/packhouse/packhouse/internal/spec"
)

// Archive kinds.
const (
	TarXz = "tar.xz"
	TarGz = "tar.gz"
	Zip   = "zip"
)

// Kinds lists the archive kinds, default first.
var Kinds = []string{TarXz, TarGz, Zip}

// WriteOptions tune Write.
type WriteOptions struct {
	// Kind is TarXz (the default), TarGz or Zip.
	Kind string
}

// Write writes p's payload to w as an archive, streaming.
func Write(ctx context.Context, w io.Writer, p *spec.Package, opts WriteOptions) error {
	switch opts.Kind {
	case "", TarXz:
		return writeTar(ctx, w, p, compression.Xz)
	case TarGz:
		return writeTar(ctx, w, p, compression.Gzip)
	case Zip:
		return writeZip(ctx, w, p)
	}
	return fmt.Errorf("unknown archive kind %q (tar.xz, tar.gz, zip)", opts.Kind)
}

// FileName is GoReleaser's archive naming: name_version_os_arch.ext.
func FileName(p *spec.Package, kind string) (string, error) {
	v, err := spec.FullVersion(spec.FormatArchive, p)
	if err != nil {
		return "", err
	}
	if kind == "" {
		kind = TarXz
	}
	return fmt.Sprintf("%s_%s_%s_%s.%s", p.Name, v, p.Platform, p.Arch, kind), nil
}

func writeTar(ctx context.Context, w io.Writer, p *spec.Package, algo string) error {
	cw, err := compression.NewWriter(w, algo, p.CompressionLevel)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(cw)
	pw := pkgtar.NewWriter(tw, "", tar.FormatPAX)
	for i := range p.Contents {
		c := &p.Contents[i]
		if !pkgtar.InPayload(c) {
			continue
		}
		if err := pw.Write(ctx, c, nil); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return cw.Close()
}

func writeZip(ctx context.Context, w io.Writer, p *spec.Package) error {
	zw := zip.NewWriter(w)
	// klauspost's deflate: the same format, several times faster.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.DefaultCompression)
	})
	buf := make([]byte, 256<<10)
	for i := range p.Contents {
		c := &p.Contents[i]
		if !pkgtar.InPayload(c) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		h := &zip.FileHeader{
			Name:     strings.TrimPrefix(c.Destination, "/"),
			Modified: c.MTime,
			Method:   zip.Deflate,
		}
		mode := fs.FileMode(c.UnixMode() & 0o777)
		if c.Mode&fs.ModeSetuid != 0 {
			mode |= fs.ModeSetuid
		}
		if c.Mode&fs.ModeSetgid != 0 {
			mode |= fs.ModeSetgid
		}
		switch c.Type {
		case spec.TypeDir:
			h.Name += "/"
			h.Method = zip.Store
			h.SetMode(mode | fs.ModeDir)
		case spec.TypeSymlink:
			h.Method = zip.Store
			h.SetMode(mode | fs.ModeSymlink)
		default:
			h.SetMode(mode)
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Destination, err)
		}
		switch c.Type {
		case spec.TypeSymlink:
			_, err = io.WriteString(fw, c.Target)
		case spec.TypeDir:
		default:
			err = pkgtar.CopyFile(ctx, fw, c, buf)
		}
		if err != nil {
			return err
		}
	}
	return zw.Close()
}
