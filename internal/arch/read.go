package arch

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/index/pacman"
	"github.com/packhouse/packhouse/internal/iolimit"
)

var (
	// ErrInvalid is wrapped by the errors Read returns about a package
	// that is malformed: not a package, corrupt, or with metadata a
	// repository cannot hold.
	ErrInvalid = errors.New("arch: invalid package")
	// ErrTooLarge is wrapped by the errors Read returns about a package
	// that exceeds a bound of its Limits.
	ErrTooLarge = errors.New("arch: too large")
)

// Limits bound what Read accepts, since packages are untrusted. A zero
// field takes its value from DefaultLimits.
type Limits struct {
	// MaxPKGINFO bounds .PKGINFO, which Read holds in memory.
	MaxPKGINFO int64
	// MaxEntries bounds the entries of the archive.
	MaxEntries int
	// MaxUncompressed bounds the tar stream after decompression, so that
	// a small upload cannot inflate without end.
	MaxUncompressed int64
	// MaxPathLen bounds an entry's name and a link's target, in bytes.
	MaxPathLen int
	// MaxFileList bounds the names of Files together, in bytes. With
	// MaxPKGINFO and MaxWindow it bounds the memory Read uses.
	MaxFileList int64
	// MaxWindow bounds the history the decompressor keeps: the zstd
	// window or xz dictionary, which the package chooses. See
	// compression.NewReader.
	MaxWindow int64
}

// DefaultLimits returns bounds far above what real packages need. The
// largest in Arch's repositories unpack to a few GiB and hold some
// hundred thousand files; makepkg's zstd -20 uses a 32 MiB window and
// xz -9 a 64 MiB dictionary, and 128 MiB is the largest window zstd's
// own decoder, and so pacman's libarchive, accepts without being told.
func DefaultLimits() Limits {
	return Limits{
		MaxPKGINFO:      1 << 20,
		MaxEntries:      1 << 20,
		MaxUncompressed: 64 << 30,
		MaxPathLen:      4096,
		MaxFileList:     64 << 20,
		MaxWindow:       128 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxPKGINFO <= 0 {
		l.MaxPKGINFO = d.MaxPKGINFO
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxUncompressed <= 0 {
		l.MaxUncompressed = d.MaxUncompressed
	}
	if l.MaxPathLen <= 0 {
		l.MaxPathLen = d.MaxPathLen
	}
	if l.MaxFileList <= 0 {
		l.MaxFileList = d.MaxFileList
	}
	if l.MaxWindow <= 0 {
		l.MaxWindow = d.MaxWindow
	}
	return l
}

// Info is what a sync database needs from a package.
type Info struct {
	// Package holds what .PKGINFO says, as repo-add reads it, and the
	// file list, as repo-add lists it (see pacman.Listed), in archive
	// order. The caller fills in what depends on the file rather than its
	// contents: Filename, MD5, SHA256, CSize and PGPSig.
	Package pacman.Package
	// Compression is "zst", "xz", "gz" or "", as found from the data:
	// the file should be named ".pkg.tar" plus "." and it.
	Compression string
}

// Read reads an Arch package (.pkg.tar.zst, .xz, .gz, or an uncompressed
// .pkg.tar) from r, in one pass and without seeking, and returns what
// a sync database says of it. It streams the payload through without
// holding it, so memory stays within Limits whatever the package's
// size.
//
// .PKGINFO may be anywhere in the archive. Read checks the compressed
// stream's checksums to its end, and stops at the end of the archive when
// it is not compressed; it may leave the rest of r unread.
//
// The errors about the package wrap ErrInvalid or ErrTooLarge; an error
// from r is returned wrapped, and wraps neither.
func Read(r io.Reader, lim Limits) (*Info, error) {
	src := &source{r: r}
	d := &reader{lim: lim.withDefaults()}
	info, err := d.read(bufio.NewReaderSize(src, 64<<10))
	if err != nil {
		if src.err != nil {
			return nil, fmt.Errorf("arch: reading package: %w", src.err)
		}
		return nil, err
	}
	return info, nil
}

// source remembers a read error, so that a failing upload is reported as
// such and not as a corrupt package, whichever layer saw it first.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

type reader struct {
	lim      Limits
	stream   string // what the tar archive is read from, for messages
	listSize int64
}

// errUnpackLimit marks the tar stream reaching MaxUncompressed.
var errUnpackLimit = errors.New("unpacked size limit reached")

func (d *reader) read(br *bufio.Reader) (*Info, error) {
	ext, algo, err := sniff(br)
	if err != nil {
		return nil, err
	}
	d.stream = "tar archive"
	if ext != "" {
		d.stream = algo + "-compressed tar archive"
	}
	zr, err := compression.NewReader(br, algo, d.lim.MaxWindow)
	if err != nil {
		return nil, d.streamError(err)
	}
	defer zr.Close()
	lr := &iolimit.Reader{R: zr, N: d.lim.MaxUncompressed, Err: errUnpackLimit}
	tr := tar.NewReader(lr)

	info := &Info{Compression: ext}
	p := &info.Package
	var entries int
	var pkginfo bool
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, d.streamError(err)
		}
		if entries++; entries > d.lim.MaxEntries {
			return nil, tooLarge("more than %d archive entries", d.lim.MaxEntries)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // tar's metadata, not an entry; bsdtar lists none
		}
		if err := d.checkEntry(h); err != nil {
			return nil, err
		}
		if h.Name == ".PKGINFO" {
			if pkginfo {
				return nil, invalid("two .PKGINFO entries")
			}
			pkginfo = true
			if err := d.readPKGINFO(tr, h, p); err != nil {
				return nil, err
			}
			continue
		}
		if pacman.Listed(h.Name) {
			if d.listSize += int64(len(h.Name)); d.listSize > d.lim.MaxFileList {
				return nil, tooLarge("file names add up to more than %d bytes", d.lim.MaxFileList)
			}
			p.Files = append(p.Files, h.Name)
		}
	}
	if !pkginfo {
		return nil, invalid("no .PKGINFO")
	}
	if ext != "" {
		// Decompressing the rest checks the stream's checksums and
		// catches data hidden after the archive, within the same bound.
		if _, err := io.Copy(io.Discard, lr); err != nil {
			return nil, d.streamError(err)
		}
	}
	if err := checkPackage(p); err != nil {
		return nil, err
	}
	return info, nil
}

// Magic numbers. makepkg can also compress with bzip2, lz4, lzip, lrzip,
// lzop and compress(1); those are named in the error, to say why such a
// package is refused.
var (
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	gzipMagic  = []byte{0x1f, 0x8b}
	otherMagic = []struct {
		magic, name string
	}{
		{"BZh", "bzip2"}, {"\x04\x22\x4d\x18", "lz4"}, {"LZIP", "lzip"}, {"LRZI", "lrzip"},
		{"\x89LZO", "lzop"}, {"\x1f\x9d", "compress"},
	}
)

// sniff tells the compression from the first bytes: the file name is the
// uploader's, the bytes are what pacman will read.
func sniff(br *bufio.Reader) (ext, algo string, err error) {
	b, _ := br.Peek(262)
	switch {
	case len(b) == 0:
		return "", "", invalid("empty file")
	case bytes.HasPrefix(b, zstdMagic):
		return "zst", compression.Zstd, nil
	case bytes.HasPrefix(b, xzMagic):
		return "xz", compression.Xz, nil
	case bytes.HasPrefix(b, gzipMagic):
		return "gz", compression.Gzip, nil
	case len(b) == 262 && string(b[257:262]) == "ustar":
		return "", compression.None, nil
	}
	for _, m := range otherMagic {
		if bytes.HasPrefix(b, []byte(m.magic)) {
			return "", "", invalid("compressed with %s; packhouse reads zstd, xz and gzip", m.name)
		}
	}
	return "", "", invalid("not an Arch package: neither a tar archive nor zstd, xz or gzip data")
}

// streamError describes an error met reading the tar stream.
func (d *reader) streamError(err error) error {
	var fe *formatError
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, errUnpackLimit):
		return tooLarge("%s unpacks to more than %d bytes", d.stream, d.lim.MaxUncompressed)
	case errors.Is(err, compression.ErrWindow):
		return tooLarge("%s: %v", d.stream, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("%s is truncated", d.stream)
	}
	return invalid("%s is corrupt: %v", d.stream, err)
}

// checkEntry refuses the names pacman must not be asked to extract, and
// those that would not fit on a line of the files database.
func (d *reader) checkEntry(h *tar.Header) error {
	if err := d.checkPath("entry", h.Name); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeLink:
		// A hard link's target is another entry of the archive.
		return d.checkPath(fmt.Sprintf("hard link %q to", h.Name), h.Linkname)
	case tar.TypeSymlink:
		// A symbolic link may point anywhere, like /usr/lib/x; pacman
		// extracts it as a link, not through it.
		if len(h.Linkname) > d.lim.MaxPathLen {
			return tooLarge("symbolic link %q: target is longer than %d bytes", h.Name, d.lim.MaxPathLen)
		}
	}
	return nil
}

func (d *reader) checkPath(what, name string) error {
	switch {
	case name == "":
		return invalid("%s with an empty name", what)
	case len(name) > d.lim.MaxPathLen:
		return tooLarge("%s %.64q...: name is longer than %d bytes", what, name, d.lim.MaxPathLen)
	case name[0] == '/':
		return invalid("%s %q is an absolute path", what, name)
	case strings.ContainsAny(name, "\n\r"):
		return invalid("%s %q has a line break in its name", what, name)
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			return invalid("%s %q has a \"..\" component", what, name)
		}
	}
	return nil
}

func (d *reader) readPKGINFO(tr *tar.Reader, h *tar.Header, p *pacman.Package) error {
	if h.Typeflag != tar.TypeReg {
		return invalid(".PKGINFO is not a regular file")
	}
	if h.Size > d.lim.MaxPKGINFO {
		return tooLarge(".PKGINFO is %d bytes, over the limit of %d", h.Size, d.lim.MaxPKGINFO)
	}
	b := make([]byte, h.Size)
	if _, err := io.ReadFull(tr, b); err != nil {
		return d.streamError(err)
	}
	return parsePKGINFO(b, p)
}

// parsePKGINFO reads .PKGINFO into p as repo-add's db_write_entry does:
//
//	while read -r line; do
//		[[ ${line:0:1} = '#' ]] && continue
//		IFS=' =' read -r var val < <(printf '%s\n' "$line")
//		declare "$var=${val//+([[:space:]])/ }"
//
// with the list keys appended to and any other key's last value kept.
// Values are cleaned as repo-add's output is (see pacman.AppendDesc):
// runs of white space become one space, and none is left at either end.
//
// Where repo-add's shell does something no one would want, Read does as
// pacman does instead: a last line without a newline counts (read would
// drop it), an empty value adds nothing to a list (repo-add would write a
// blank line, which ends the field), and a NUL byte makes the package
// invalid (bash would drop it).
func parsePKGINFO(b []byte, p *pacman.Package) error {
	if bytes.IndexByte(b, 0) >= 0 {
		return invalid(".PKGINFO has a NUL byte")
	}
	var size, builddate string
	for line := range strings.SplitSeq(string(b), "\n") {
		key, val, ok := pkginfoLine(line)
		if !ok {
			continue
		}
		val = clean(val)
		add := func(list *[]string) {
			if val != "" {
				*list = append(*list, val)
			}
		}
		switch key {
		case "pkgname":
			p.Name = val
		case "pkgbase":
			p.Base = val
		case "pkgver":
			p.Version = val
		case "pkgdesc":
			p.Desc = val
		case "url":
			p.URL = val
		case "builddate":
			builddate = val
		case "packager":
			p.Packager = val
		case "size":
			size = val
		case "arch":
			p.Arch = val
		case "license":
			add(&p.Licenses)
		case "replaces":
			add(&p.Replaces)
		case "group":
			add(&p.Groups)
		case "conflict":
			add(&p.Conflicts)
		case "provides":
			add(&p.Provides)
		case "depend":
			add(&p.Depends)
		case "optdepend":
			add(&p.OptDepends)
		case "makedepend":
			add(&p.MakeDepends)
		case "checkdepend":
			add(&p.CheckDepends)
		}
	}
	var err error
	if p.ISize, err = number("size", size); err != nil {
		return err
	}
	p.BuildDate, err = number("builddate", builddate)
	return err
}

// pkginfoLine splits a line of .PKGINFO as repo-add's two reads do. The
// first trims spaces and tabs; a line that then starts with '#' is a
// comment. The second splits at the first space or '=': the key is what
// comes before, and the value what follows the spaces, one '=' and the
// spaces after it. When the value is one word followed by a lone '='
// ("a =", "a="), read drops the '=', as POSIX has it.
func pkginfoLine(line string) (key, val string, ok bool) {
	line = strings.Trim(line, " \t")
	if line == "" || line[0] == '#' {
		return "", "", false
	}
	i := strings.IndexAny(line, " =")
	if i < 0 {
		return line, "", true
	}
	key, val = line[:i], strings.TrimLeft(line[i:], " ")
	if strings.HasPrefix(val, "=") {
		val = strings.TrimLeft(val[1:], " ")
	}
	if strings.HasSuffix(val, "=") {
		word := strings.TrimRight(val[:len(val)-1], " ")
		if !strings.ContainsAny(word, " =") {
			val = word
		}
	}
	return key, val, key != ""
}

// clean collapses white space as repo-add does (${val//+([[:space:]])/ })
// and trims it, as its output is (see pacman.AppendDesc).
func clean(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return true
		}
		return false
	}), " ")
}

// number reads size and builddate, which repo-add copies as they are and
// pacman reads as numbers. Missing, they are 0.
func number(key, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s[0] < '0' || s[0] > '9' {
		return 0, invalid(".PKGINFO: %s %q is not a number of 0 or more", key, s)
	}
	return n, nil
}

// checkPackage refuses what a sync database cannot hold (pacman.WriteDB
// has the same rules): libalpm finds a package's name and version by
// splitting its entry's directory name at the last two hyphens.
func checkPackage(p *pacman.Package) error {
	for _, f := range []struct{ key, val string }{{"pkgname", p.Name}, {"pkgver", p.Version}, {"arch", p.Arch}} {
		if f.val == "" {
			return invalid(".PKGINFO has no %s", f.key)
		}
		if strings.ContainsAny(f.val, "/ ") {
			return invalid(".PKGINFO: %s %q has a space or a slash", f.key, f.val)
		}
	}
	if p.Name[0] == '.' || p.Name[0] == '-' {
		return invalid(".PKGINFO: pkgname %q starts with %q", p.Name, p.Name[0])
	}
	ver, rel, ok := strings.Cut(p.Version, "-")
	if !ok || ver == "" || rel == "" || strings.Contains(rel, "-") {
		return invalid(".PKGINFO: pkgver %q is not [epoch:]pkgver-pkgrel", p.Version)
	}
	return nil
}

// formatError is a problem with the package. It has its own type so that
// its message reads as one sentence whether it wraps ErrInvalid or
// ErrTooLarge.
type formatError struct {
	msg      string
	tooLarge bool
}

func (e *formatError) Error() string {
	if e.tooLarge {
		return ErrTooLarge.Error() + ": " + e.msg
	}
	return ErrInvalid.Error() + ": " + e.msg
}

func (e *formatError) Unwrap() error {
	if e.tooLarge {
		return ErrTooLarge
	}
	return ErrInvalid
}

func invalid(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...), tooLarge: true}
}
