package deb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/packhouse/packhouse/internal/deb/control"
	"github.com/packhouse/packhouse/internal/deb/version"
)

var (
	// ErrInvalid is wrapped by every error Read returns about the bytes of
	// the package, including those that also wrap ErrTooLarge. Errors from
	// the underlying reader are returned as they are and do not wrap it.
	ErrInvalid = errors.New("invalid deb package")
	// ErrTooLarge is wrapped, together with ErrInvalid, by the errors about
	// a part of the package that exceeds a Limits bound.
	ErrTooLarge = errors.New("deb package part exceeds limit")
)

// Limits bounds what Read holds in memory and unpacks. A zero field takes
// its value from DefaultLimits. Read also applies fixed bounds that no real
// package comes near: 64 ar members, 4 KiB of debian-binary and 10,000
// control archive entries.
type Limits struct {
	// MaxControlTar bounds the size of the control.tar member as stored.
	MaxControlTar int64
	// MaxControlUnpacked bounds the control archive after decompression,
	// so that a small upload cannot inflate without limit. It also caps
	// the xz dictionary and the zstd window allocated to decompress it.
	MaxControlUnpacked int64
	// MaxControlFile bounds each file of the control archive that Read
	// keeps in memory: control and conffiles, and with
	// ReadOptions.ControlData every other one.
	MaxControlFile int64
	// MaxDataWindow bounds the decompressor's history when the data
	// archive is unpacked (ReadOptions.Data): the xz dictionary or zstd
	// window a package may ask for. xz -9 asks for 64 MiB, zstd --long
	// for 128 MiB.
	MaxDataWindow int64
}

// DefaultLimits returns bounds far above what real packages need: the
// control archive of a large package is a few hundred kilobytes.
func DefaultLimits() Limits {
	return Limits{
		MaxControlTar:      16 << 20,
		MaxControlUnpacked: 64 << 20,
		MaxControlFile:     1 << 20,
		MaxDataWindow:      128 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxControlTar <= 0 {
		l.MaxControlTar = d.MaxControlTar
	}
	if l.MaxControlUnpacked <= 0 {
		l.MaxControlUnpacked = d.MaxControlUnpacked
	}
	if l.MaxControlFile <= 0 {
		l.MaxControlFile = d.MaxControlFile
	}
	if l.MaxDataWindow <= 0 {
		l.MaxDataWindow = d.MaxDataWindow
	}
	return l
}

// ReadOptions ask ReadWith for more than a repository index needs, for
// callers that unpack a package, such as a converter.
type ReadOptions struct {
	// ControlData keeps the bytes of every regular file of the control
	// archive (maintainer scripts, md5sums, templates) in
	// Package.ControlData, each within Limits.MaxControlFile.
	ControlData bool
	// Data, when set, is given the data archive, decompressed: a tar
	// stream. p is the package as read so far, control archive included.
	// Data reads what it needs; ReadWith then reads on to the end of the
	// file. An error from Data ends ReadWith and is returned as it is,
	// unless the file itself was cut short, which is reported as such.
	Data func(p *Package, tar io.Reader) error
}

// Package is what Read learns about a .deb.
type Package struct {
	// Control is the control file's one paragraph, fields in file order.
	Control control.Paragraph
	// Name, Version and Architecture are the control fields of the same
	// names, checked to be valid.
	Name, Version, Architecture string
	// FormatVersion is the first line of debian-binary, such as "2.0".
	FormatVersion string
	// ControlCompression is "", "gz", "xz" or "zst", from the name of
	// the control.tar member.
	ControlCompression string
	// DataCompression is "", "gz", "xz", "zst", "bz2" or "lzma", from the
	// name of the data.tar member, which Read does not unpack.
	DataCompression string
	// ControlFiles are the regular files of the control archive, without
	// a leading "./": "control", "md5sums", "postinst"...
	ControlFiles []string
	// Conffiles are the absolute paths listed in the conffiles file.
	Conffiles []string
	// ControlData holds the control archive's files by name, with
	// ReadOptions.ControlData only.
	ControlData map[string][]byte
	// Members are the ar members in file order, including any that Read
	// skipped, such as signatures after data.tar.
	Members []Member
	// Size is the number of bytes read: the size of the file.
	Size int64
}

// Member is one member of the ar archive.
type Member struct {
	Name string
	Size int64 // bytes of content, without padding
}

// Read reads a .deb from r to its end, once and in order, and returns what
// it holds. It returns at the first error without reading further.
//
// Read never seeks, so r may be an upload being written to disk at the same
// time; it holds at most a bounded part of the control archive in memory
// and skips the data member without unpacking it.
func Read(r io.Reader, lim Limits) (*Package, error) {
	return ReadWith(r, lim, ReadOptions{})
}

// ReadWith is Read, doing also what opts ask.
func ReadWith(r io.Reader, lim Limits, opts ReadOptions) (*Package, error) {
	src := &source{r: r}
	d := &reader{
		src:  src,
		br:   bufio.NewReaderSize(src, 64<<10),
		lim:  lim.withDefaults(),
		opts: opts,
		pkg:  &Package{},
	}
	if opts.ControlData {
		d.pkg.ControlData = map[string][]byte{}
	}
	if err := d.read(); err != nil {
		if src.err != nil {
			return nil, fmt.Errorf("reading deb package: %w", src.err)
		}
		return nil, err
	}
	d.pkg.Size = src.n
	return d.pkg, nil
}

// source counts the bytes of the package and remembers a read error, so
// that a failing upload is reported as such and not as a broken package,
// whichever decompressor or parser saw it first.
type source struct {
	r   io.Reader
	n   int64
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

type reader struct {
	src  *source
	br   *bufio.Reader
	lim  Limits
	opts ReadOptions
	pkg  *Package
}

const (
	arMagic      = "!<arch>\n"
	arHeaderSize = 60
	maxDebianBin = 4096
	// Real packages have three members, signed ones a few more; the
	// bound keeps Members small whatever the upload.
	maxMembers    = 64
	memberBinary  = "debian-binary"
	memberControl = "control.tar"
	memberData    = "data.tar"
)

// The stages of the member sequence.
const (
	wantBinary = iota
	wantControl
	wantData
	afterData
)

func (d *reader) read() error {
	var magic [len(arMagic)]byte
	if n, _ := io.ReadFull(d.br, magic[:]); n == 0 {
		return invalid("empty file")
	} else if string(magic[:n]) != arMagic {
		return invalid("not a deb package: no ar archive magic %q at the start", arMagic)
	}
	stage := wantBinary
	for {
		h, err := d.header()
		if err == io.EOF {
			break
		}
		if err != nil {
			if stage == afterData {
				return wrapInvalid(err, "trailing garbage after the last member")
			}
			return err
		}
		if len(d.pkg.Members) == maxMembers {
			return tooLarge("more than %d ar members", maxMembers)
		}
		d.pkg.Members = append(d.pkg.Members, Member{Name: h.name, Size: h.size})
		m := &member{br: d.br, name: h.name, size: h.size, left: h.size}
		switch {
		case stage == wantBinary:
			if h.name != memberBinary {
				return invalid("not a deb package: first member is %q, want %q", h.name, memberBinary)
			}
			if err := d.readBinary(m); err != nil {
				return err
			}
			stage = wantControl
		case stage != afterData && strings.HasPrefix(h.name, "_"):
			// deb(5) reserves these for members that readers which do
			// not know them must skip.
		case stage == wantControl && strings.HasPrefix(h.name, memberControl):
			comp, ok := memberCompression(h.name, memberControl, "gz", "xz", "zst")
			if !ok {
				return invalid("member %q: unsupported compression", h.name)
			}
			if h.size > d.lim.MaxControlTar {
				return tooLarge("member %q is %d bytes, over the limit of %d", h.name, h.size, d.lim.MaxControlTar)
			}
			d.pkg.ControlCompression = comp
			if err := d.readControl(m, comp); err != nil {
				return err
			}
			stage = wantData
		case stage == wantData && strings.HasPrefix(h.name, memberData):
			comp, ok := memberCompression(h.name, memberData, "gz", "xz", "zst", "bz2", "lzma")
			if !ok {
				return invalid("member %q: unsupported compression", h.name)
			}
			d.pkg.DataCompression = comp
			if d.opts.Data != nil {
				if err := d.readData(m, comp); err != nil {
					return err
				}
			}
			stage = afterData
		case stage == afterData:
			if h.name == memberBinary || strings.HasPrefix(h.name, memberControl) || strings.HasPrefix(h.name, memberData) {
				return invalid("member %q repeats a member after data.tar", h.name)
			}
		case stage == wantControl:
			return invalid("member %q where control.tar was expected", h.name)
		default:
			return invalid("member %q where data.tar was expected", h.name)
		}
		if err := d.finish(m); err != nil {
			return err
		}
	}
	switch stage {
	case wantBinary:
		return invalid("not a deb package: empty ar archive")
	case wantControl:
		return invalid("no control.tar member")
	case wantData:
		return invalid("no data.tar member")
	}
	return nil
}

// compression returns the compression suffix of member name, which starts
// with base, if it is one of allowed or none.
func memberCompression(name, base string, allowed ...string) (string, bool) {
	ext := name[len(base):]
	if ext == "" {
		return "", true
	}
	for _, a := range allowed {
		if ext == "."+a {
			return a, true
		}
	}
	return "", false
}

type arHeader struct {
	name string
	size int64
}

// header reads the next member header, or returns io.EOF at the clean end
// of the archive.
func (d *reader) header() (arHeader, error) {
	var b [arHeaderSize]byte
	n, err := io.ReadFull(d.br, b[:])
	switch {
	case n == 0 && err == io.EOF:
		return arHeader{}, io.EOF
	case err != nil:
		return arHeader{}, invalid("truncated: %d-byte member header ends after %d bytes", arHeaderSize, n)
	}
	if string(b[58:60]) != "`\n" {
		return arHeader{}, invalid("member header %q does not end in \"`\\n\"", b[:])
	}
	// dpkg-deb pads names with spaces; GNU ar ends them with '/' too.
	name := strings.TrimRight(string(b[:16]), " ")
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return arHeader{}, invalid("member with an empty name")
	}
	size, ok := parseSize(b[48:58])
	if !ok {
		return arHeader{}, invalid("member %q: size %q is not a decimal number", name, b[48:58])
	}
	return arHeader{name: name, size: size}, nil
}

func parseSize(b []byte) (int64, bool) {
	s := strings.TrimRight(strings.TrimLeft(string(b), " "), " ")
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// member reads the content of one ar member.
type member struct {
	br        *bufio.Reader
	name      string
	size      int64
	left      int64
	truncated bool
}

func (m *member) Read(p []byte) (int, error) {
	if m.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.br.Read(p)
	m.left -= int64(n)
	if err == io.EOF && m.left > 0 {
		m.truncated = true
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// finish skips what is left of a member and its padding.
func (d *reader) finish(m *member) error {
	for m.left > 0 {
		n, err := d.br.Discard(int(min(m.left, 1<<30)))
		m.left -= int64(n)
		if err != nil {
			return m.truncatedError()
		}
	}
	if m.size%2 == 1 {
		c, err := d.br.ReadByte()
		if err != nil {
			return m.truncatedError()
		}
		if c != '\n' {
			return invalid("member %q: padding byte is %q, want '\\n'", m.name, c)
		}
	}
	return nil
}

func (m *member) truncatedError() error {
	return invalid("truncated in member %q", m.name)
}

func (d *reader) readBinary(m *member) error {
	if m.left > maxDebianBin {
		return tooLarge("member %q is %d bytes, over the limit of %d", m.name, m.left, maxDebianBin)
	}
	b, err := io.ReadAll(m)
	if err != nil {
		return m.truncatedError()
	}
	line, _, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return invalid("member %q has no newline", m.name)
	}
	major, minor, ok := strings.Cut(string(line), ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return invalid("member %q: format version %q is not a number", m.name, line)
	}
	if major != "2" {
		return invalid("unsupported format version %q, want 2.x", line)
	}
	d.pkg.FormatVersion = string(line)
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkControl fills the package's fields from its control file.
func (d *reader) checkControl(b []byte) error {
	p, err := control.ParseParagraph(b)
	if err != nil {
		return wrapInvalid(err, "control file")
	}
	if len(p) == 0 {
		return invalid("control file is empty")
	}
	d.pkg.Control = p
	get := func(name string) (string, error) {
		v, ok := p.Lookup(name)
		if !ok {
			return "", invalid("control file has no %s field", name)
		}
		return v, nil
	}
	if d.pkg.Name, err = get("Package"); err != nil {
		return err
	}
	if !validName(d.pkg.Name) {
		return invalid("control file: invalid package name %q", d.pkg.Name)
	}
	if d.pkg.Version, err = get("Version"); err != nil {
		return err
	}
	if _, err := version.Parse(d.pkg.Version); err != nil {
		return wrapInvalid(err, "control file")
	}
	if d.pkg.Architecture, err = get("Architecture"); err != nil {
		return err
	}
	if !validArch(d.pkg.Architecture) {
		return invalid("control file: invalid architecture %q", d.pkg.Architecture)
	}
	return nil
}

// validName is Debian policy 5.6.1: lower-case letters, digits, '+', '-'
// and '.', at least two, starting with a letter or digit.
func validName(s string) bool {
	if len(s) < 2 || !isLowerAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validArch accepts dpkg's architecture names ("amd64", "all",
// "musl-linux-arm64"): lower-case letters, digits and '-', starting with a
// letter or digit.
func validArch(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// formatError is a problem with the package's bytes. It has its own type,
// not fmt.Errorf, so that it can match both ErrInvalid and ErrTooLarge and
// still read as one sentence.
type formatError struct {
	msg      string
	err      error
	tooLarge bool
}

func (e *formatError) Error() string {
	s := ErrInvalid.Error() + ": " + e.msg
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *formatError) Unwrap() error { return e.err }

func (e *formatError) Is(target error) bool {
	return target == ErrInvalid || e.tooLarge && target == ErrTooLarge
}

func invalid(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

func wrapInvalid(err error, format string, args ...any) error {
	var fe *formatError
	if errors.As(err, &fe) {
		return &formatError{msg: fmt.Sprintf(format, args...) + ": " + fe.msg, err: fe.err, tooLarge: fe.tooLarge}
	}
	return &formatError{msg: fmt.Sprintf(format, args...), err: err}
}

func tooLarge(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...), tooLarge: true}
}
