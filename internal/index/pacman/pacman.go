package pacman

import (
	"archive/tar"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ErrInvalidPackage is returned for a package that a sync database cannot
// hold: pacman would misread it, or read another package into it.
var ErrInvalidPackage = errors.New("pacman: invalid package")

// Package is what a sync database says about one package file.
type Package struct {
	Filename string // the package file's name, without a directory
	Name     string
	Base     string // pkgbase
	Version  string // [epoch:]pkgver-pkgrel
	Desc     string
	URL      string
	Arch     string
	Packager string
	MD5      string // hex; optional, pacman checks SHA256 when both are present
	SHA256   string // hex
	PGPSig   string // base64 of the detached signature, may be empty

	CSize     int64 // size of the package file
	ISize     int64 // installed size
	BuildDate int64 // Unix time

	Groups, Licenses, Replaces, Depends, Conflicts, Provides []string
	OptDepends, MakeDepends, CheckDepends                    []string

	Files []string // for the .files database: paths as in the package, directories ending in "/"
}

// WriteDB writes a sync database of pkgs to w: the .db database, or with
// withFiles the .files database, which also lists each package's files.
// Entries are sorted, and every timestamp in the archive is fixed, so the
// bytes depend on the packages only.
//
// A database holds one package per name; WriteDB refuses two.
func WriteDB(w io.Writer, pkgs []*Package, withFiles bool) error {
	sorted := slices.Clone(pkgs)
	slices.SortFunc(sorted, func(a, b *Package) int {
		return cmp.Compare(a.Name+"-"+a.Version, b.Name+"-"+b.Version)
	})
	versions := make(map[string]string, len(sorted))
	for _, p := range sorted {
		if err := Validate(p); err != nil {
			return err
		}
		// libalpm keys its package cache on the name and would read a
		// second entry into the first package.
		if v, ok := versions[p.Name]; ok {
			return fmt.Errorf("%w: %s: two packages of that name (%s and %s)", ErrInvalidPackage, p.Name, v, p.Version)
		}
		versions[p.Name] = p.Version
	}

	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	var buf []byte
	for _, p := range sorted {
		if buf, err = AppendEntries(buf[:0], p, withFiles); err != nil {
			return err
		}
		if _, err := zw.Write(buf); err != nil {
			return err
		}
	}
	if _, err := zw.Write(EndOfArchive()); err != nil {
		return err
	}
	return zw.Close()
}

// AppendEntries appends p's entries of a sync database, as tar records:
// its directory, its desc and, withFiles, its files. A database is its
// packages' entries, one after another, and EndOfArchive, so that it can
// be made of pieces made once per package. Call it on a package that
// Validate accepts.
func AppendEntries(b []byte, p *Package, withFiles bool) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	tw := tar.NewWriter(buf)
	dir := p.Name + "-" + p.Version + "/"
	if err := tw.WriteHeader(header(dir, tar.TypeDir, 0o755, 0)); err != nil {
		return b, err
	}
	if err := writeEntry(tw, dir+"desc", AppendDesc(nil, p)); err != nil {
		return b, err
	}
	if withFiles {
		if err := writeEntry(tw, dir+"files", AppendFiles(nil, p)); err != nil {
			return b, err
		}
	}
	// Flush pads the last entry; Close would also end the archive.
	if err := tw.Flush(); err != nil {
		return b, err
	}
	return buf.Bytes(), nil
}

// EndOfArchive is the two zero blocks that end a tar stream.
func EndOfArchive() []byte { return make([]byte, 1024) }

// epoch is the time of every archive entry. pacman reads none of them; a
// fixed one makes the database reproducible.
var epoch = time.Unix(0, 0)

func header(name string, typ byte, mode int64, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ, Name: name, Mode: mode, Size: size,
		Uname: "root", Gname: "root", ModTime: epoch,
	}
}

func writeEntry(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(header(name, tar.TypeReg, 0o644, int64(len(data)))); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// AppendDesc appends p's desc entry as repo-add's db_write_entry writes it:
// the same fields in the same order, each "%NAME%", its values one per
// line and a blank line, and a field without a value left out.
//
// Values are cleaned as repo-add cleans what it reads from .PKGINFO: runs
// of white space become one space, and leading and trailing spaces go. So
// no value can add a line, and a crafted description cannot add fields.
// Call it on a package that WriteDB accepts.
func AppendDesc(b []byte, p *Package) []byte {
	b = appendField(b, "FILENAME", p.Filename)
	b = appendField(b, "NAME", p.Name)
	b = appendField(b, "BASE", p.Base)
	b = appendField(b, "VERSION", p.Version)
	b = appendField(b, "DESC", p.Desc)
	b = appendList(b, "GROUPS", p.Groups)
	b = appendInt(b, "CSIZE", p.CSize)
	b = appendInt(b, "ISIZE", p.ISize)
	b = appendField(b, "MD5SUM", p.MD5)
	b = appendField(b, "SHA256SUM", p.SHA256)
	// repo-add strips the newlines base64 wraps lines with; any other white
	// space has no place in base64 either.
	b = appendField(b, "PGPSIG", strings.Join(strings.Fields(p.PGPSig), ""))
	b = appendField(b, "URL", p.URL)
	b = appendList(b, "LICENSE", p.Licenses)
	b = appendField(b, "ARCH", p.Arch)
	b = appendInt(b, "BUILDDATE", p.BuildDate)
	b = appendField(b, "PACKAGER", p.Packager)
	b = appendList(b, "REPLACES", p.Replaces)
	b = appendList(b, "CONFLICTS", p.Conflicts)
	b = appendList(b, "PROVIDES", p.Provides)
	b = appendList(b, "DEPENDS", p.Depends)
	b = appendList(b, "OPTDEPENDS", p.OptDepends)
	b = appendList(b, "MAKEDEPENDS", p.MakeDepends)
	return appendList(b, "CHECKDEPENDS", p.CheckDepends)
}

// AppendFiles appends p's files entry as repo-add writes it: "%FILES%",
// then the paths sorted byte-wise and without duplicates (LC_ALL=C sort
// -u), without those that Listed leaves out, such as the package's own
// metadata files (.PKGINFO, .MTREE, ...). Call it on a package that
// WriteDB accepts.
func AppendFiles(b []byte, p *Package) []byte {
	b = append(b, "%FILES%\n"...)
	files := slices.Clone(p.Files)
	slices.Sort(files)
	files = slices.Compact(files)
	for _, f := range files {
		if f == "" || !Listed(f) {
			continue
		}
		b = append(b, f...)
		b = append(b, '\n')
	}
	return b
}

// Listed reports whether repo-add lists a package's archive entry in
// %FILES%. It lists what "bsdtar --exclude='^.*' -tf" prints: not the
// entries whose names start with a dot, which are the package's metadata
// (.PKGINFO, .BUILDINFO, .MTREE, .INSTALL, .CHANGELOG) and anything else
// hidden at the top. libarchive's matching first skips a leading "./"
// (with the slashes and "./" after it), so "./usr/bin/x" is listed, as it
// is, and "./.PKGINFO" is not.
func Listed(name string) bool {
	s := name
	if strings.HasPrefix(s, "./") {
		s = s[1:]
		for {
			switch {
			case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "./"), s == ".":
				s = s[1:]
				continue
			}
			break
		}
	}
	return !strings.HasPrefix(s, ".")
}

func appendField(b []byte, name, value string) []byte {
	value = clean(value)
	if value == "" {
		return b
	}
	b = appendName(b, name)
	b = append(b, value...)
	return append(b, "\n\n"...)
}

func appendInt(b []byte, name string, v int64) []byte {
	b = appendName(b, name)
	b = strconv.AppendInt(b, v, 10)
	return append(b, "\n\n"...)
}

func appendList(b []byte, name string, values []string) []byte {
	n := len(b)
	b = appendName(b, name)
	start := len(b)
	for _, v := range values {
		if v = clean(v); v != "" {
			b = append(b, v...)
			b = append(b, '\n')
		}
	}
	if len(b) == start {
		return b[:n]
	}
	return append(b, '\n')
}

func appendName(b []byte, name string) []byte {
	b = append(b, '%')
	b = append(b, name...)
	return append(b, "%\n"...)
}

// clean collapses white space as repo-add does (${val//+([[:space:]])/ }
// after read has trimmed the ends).
func clean(s string) string {
	if !strings.ContainsAny(s, " \t\n\v\f\r") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// Validate rejects what would make the database unreadable or misread:
// libalpm splits the entry directory name at its last two hyphens into
// name, pkgver and pkgrel (_alpm_splitname), refuses a %FILENAME% that
// starts with a dot or holds a slash (_alpm_validate_filename in
// be_sync.c), and reads a file list one path per line.
func Validate(p *Package) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s-%s: %s", ErrInvalidPackage, p.Name, p.Version, fmt.Sprintf(format, args...))
	}
	if p.Name == "" || strings.ContainsAny(p.Name, "/ \t\n\v\f\r") || p.Name[0] == '.' || p.Name[0] == '-' {
		return bad("name %q", p.Name)
	}
	ver, rel, ok := strings.Cut(p.Version, "-")
	if !ok || ver == "" || rel == "" || strings.Contains(rel, "-") || strings.ContainsAny(p.Version, "/ \t\n\v\f\r") {
		return bad("version %q is not [epoch:]pkgver-pkgrel", p.Version)
	}
	if p.Filename == "" || p.Filename[0] == '.' || strings.ContainsAny(p.Filename, "/\n\r") {
		return bad("file name %q", p.Filename)
	}
	for _, f := range p.Files {
		if strings.ContainsAny(f, "\n\r") {
			return bad("file %q", f)
		}
	}
	return nil
}
