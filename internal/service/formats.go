package service

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/packhouse/packhouse/internal/apk"
	"github.com/packhouse/packhouse/internal/deb"
	"github.com/packhouse/packhouse/internal/index/apkindex"
	"github.com/packhouse/packhouse/internal/index/apt"
	"github.com/packhouse/packhouse/internal/meta"
)

// Plain names a file pushed as it is, not as a package: an installer, an
// archive. Its pusher gives its name and version.
type Plain struct {
	Name, Version string
	Arch          string // "" is "any"
}

// A parser reads one format's package as it streams in, and returns what
// the indexes need of it: format, name, version, architecture and
// Control. The file's own size and checksums are filled in by ingest.
type parser func(r io.Reader) (*meta.Package, error)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	rpmMagic  = []byte{0xed, 0xab, 0xee, 0xdb}
)

// detect chooses the parser for a pushed file from its first bytes and the
// name it was pushed as. Debs and rpms say what they are; apk and Arch
// packages are both compressed tar streams, told apart by their names
// (an apk is always gzip, an Arch package usually zstd or xz).
func detect(head []byte, filename string, plain *Plain) (string, parser, error) {
	if plain != nil {
		return meta.FormatFile, plainParser(*plain), nil
	}
	name := strings.ToLower(filename)
	switch {
	case bytes.HasPrefix(head, []byte("!<arch>\n")):
		return meta.FormatDeb, parseDeb, nil
	case bytes.HasPrefix(head, rpmMagic):
		return meta.FormatRPM, parseRPM, nil
	case strings.HasSuffix(name, ".apk"):
		return meta.FormatAPK, parseAPK, nil
	case strings.Contains(name, ".pkg.tar"):
		return meta.FormatArch, parseArch, nil
	case bytes.HasPrefix(head, gzipMagic):
		return meta.FormatAPK, parseAPK, nil
	case bytes.HasPrefix(head, zstdMagic), bytes.HasPrefix(head, xzMagic):
		return meta.FormatArch, parseArch, nil
	}
	return "", nil, fmt.Errorf("not a deb, rpm, apk or Arch package; to push another kind of file, give its name and version: %w", ErrInvalidPackage)
}

// formatError maps a parser's errors to the service's.
func formatError(err error, invalid, tooLarge error) error {
	switch {
	case errors.Is(err, tooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, invalid):
		return fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	return err
}

func parseDeb(r io.Reader) (*meta.Package, error) {
	p, err := deb.Read(r, deb.DefaultLimits())
	if err != nil {
		return nil, formatError(err, deb.ErrInvalid, deb.ErrTooLarge)
	}
	fields := p.Control
	for _, f := range apt.IndexFields {
		fields.Del(f)
	}
	return &meta.Package{Format: meta.FormatDeb, Name: p.Name, Version: p.Version, Arch: p.Architecture, Control: controlText(fields)}, nil
}

// parseAPK reads an Alpine v2 package. Its Control is the package's
// APKINDEX entry as JSON, less the file's size, which comes from the
// package's row.
func parseAPK(r io.Reader) (*meta.Package, error) {
	p, err := apk.Read(r, apk.DefaultLimits)
	if err != nil {
		return nil, formatError(err, apk.ErrInvalid, apk.ErrTooLarge)
	}
	sum := sha1.Sum(p.ControlSegment)
	x := apkindex.Package{
		Checksum:    "Q1" + base64.StdEncoding.EncodeToString(sum[:]),
		Name:        p.Get("pkgname"),
		Version:     p.Get("pkgver"),
		Arch:        p.Get("arch"),
		Description: p.Get("pkgdesc"),
		URL:         p.Get("url"),
		License:     p.Get("license"),
		Origin:      p.Get("origin"),
		Maintainer:  p.Get("maintainer"),
		Commit:      p.Get("commit"),
		Depends:     p.All("depend"),
		Provides:    p.All("provides"),
		InstallIf:   p.All("install_if"),
	}
	for _, n := range []struct {
		key string
		v   *int64
	}{{"size", &x.InstalledSize}, {"builddate", &x.BuildTime}} {
		if s := p.Get(n.key); s != "" {
			if *n.v, err = strconv.ParseInt(s, 10, 64); err != nil {
				return nil, fmt.Errorf("%w: .PKGINFO %s %q is not a number", ErrInvalidPackage, n.key, s)
			}
		}
	}
	if x.Name == "" || x.Version == "" || x.Arch == "" {
		return nil, fmt.Errorf("%w: .PKGINFO lacks pkgname, pkgver or arch", ErrInvalidPackage)
	}
	if err := apkindex.Validate(&x); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	return jsonPackage(meta.FormatAPK, x.Name, x.Version, x.Arch, &x)
}

func jsonPackage(format, name, version, arch string, v any) (*meta.Package, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &meta.Package{Format: format, Name: name, Version: version, Arch: arch, Control: string(b)}, nil
}

// plainParser takes any bytes: a plain file has no metadata of its own.
func plainParser(pl Plain) parser {
	return func(r io.Reader) (*meta.Package, error) {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
		arch := pl.Arch
		if arch == "" {
			arch = "any"
		}
		return &meta.Package{Format: meta.FormatFile, Name: pl.Name, Version: pl.Version, Arch: arch}, nil
	}
}
