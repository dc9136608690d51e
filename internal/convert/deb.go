package convert

import (
	"archive/tar"
	"bufio"
	"compress/bzip2"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ErrInvalid is wrapped by every error about a malformed .deb.
var ErrInvalid = errors.New("invalid .deb")

// ErrTooLarge means a .deb exceeds a Limit.
var ErrTooLarge = errors.New(".deb exceeds a limit")

// Limits bound what ReadDeb accepts.
type Limits struct {
	MaxControl int64 // uncompressed control.tar
	MaxData    int64 // uncompressed data.tar
	MaxEntries int   // entries in data.tar
}

// DefaultLimits suit packages up to a few GiB.
var DefaultLimits = Limits{MaxControl: 16 << 20, MaxData: 32 << 30, MaxEntries: 1 << 20}

// Deb is a parsed .deb with its payload extracted.
type Deb struct {
	// Fields are the control file's fields, names as written.
	Fields []Field
	// Scripts are preinst, postinst, prerm, postrm, config, templates,
	// triggers, shlibs, symbols, … by name.
	Scripts map[string]string
	// Conffiles are the absolute paths conffiles lists.
	Conffiles map[string]bool
	Entries   []Entry
	// BuildTime is the newest modification time in the package.
	BuildTime time.Time
}

// Field is one control field.
type Field struct{ Name, Value string }

// Get returns a control field's value, matching its name without regard
// to case, as Debian policy says field names are.
func (d *Deb) Get(name string) string {
	for _, f := range d.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Entry is one data.tar entry.
type Entry struct {
	Path     string // absolute, clean
	Type     byte   // tar.TypeReg, TypeDir, TypeSymlink
	Mode     int64
	Owner    string
	Group    string
	MTime    time.Time
	Size     int64
	Target   string // symlink target
	Source   string // where the body was extracted
	Skipped  string // why the entry is not kept (devices, fifos), if it is not
	Hardlink bool
}

// ReadDeb parses a .deb from r, extracting its payload into dir, which
// must exist and which the caller removes when done.
func ReadDeb(ctx context.Context, r io.Reader, dir string, lim Limits) (*Deb, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, fmt.Errorf("%w: not an ar archive", ErrInvalid)
	}
	d := &Deb{Scripts: map[string]string{}, Conffiles: map[string]bool{}}
	var sums map[string]string
	sawVersion, sawControl, sawData := false, false, false
	for {
		name, size, err := readARHeader(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		body := io.LimitReader(br, size)
		switch {
		case name == "debian-binary":
			v, err := io.ReadAll(io.LimitReader(body, 64))
			if err != nil {
				return nil, fmt.Errorf("%w: debian-binary: %v", ErrInvalid, err)
			}
			if !strings.HasPrefix(string(v), "2.") {
				return nil, fmt.Errorf("%w: format %q, want 2.x", ErrInvalid, strings.TrimSpace(string(v)))
			}
			sawVersion = true
		case strings.HasPrefix(name, "control.tar"):
			if !sawVersion || sawControl {
				return nil, fmt.Errorf("%w: %s out of order", ErrInvalid, name)
			}
			if sums, err = d.readControl(name, body, lim); err != nil {
				return nil, err
			}
			sawControl = true
		case strings.HasPrefix(name, "data.tar"):
			if !sawControl || sawData {
				return nil, fmt.Errorf("%w: %s out of order", ErrInvalid, name)
			}
			if err := d.readData(ctx, name, body, dir, sums, lim); err != nil {
				return nil, err
			}
			sawData = true
		case strings.HasPrefix(name, "_"):
			// Members starting with _ are for other tools (signatures).
		default:
			return nil, fmt.Errorf("%w: unexpected member %q", ErrInvalid, name)
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		if size%2 == 1 {
			if _, err := br.ReadByte(); err != nil && err != io.EOF {
				return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
	}
	if !sawData {
		return nil, fmt.Errorf("%w: no data.tar member", ErrInvalid)
	}
	if d.Get("Package") == "" || d.Get("Version") == "" {
		return nil, fmt.Errorf("%w: control file lacks Package or Version", ErrInvalid)
	}
	return d, nil
}

func readARHeader(br *bufio.Reader) (string, int64, error) {
	var h [60]byte
	n, err := io.ReadFull(br, h[:])
	if n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
		return "", 0, io.EOF
	}
	if err != nil {
		return "", 0, fmt.Errorf("%w: truncated ar header", ErrInvalid)
	}
	if h[58] != '`' || h[59] != '\n' {
		return "", 0, fmt.Errorf("%w: bad ar header", ErrInvalid)
	}
	name := strings.TrimRight(strings.TrimSpace(string(h[0:16])), "/")
	size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
	if err != nil || size < 0 {
		return "", 0, fmt.Errorf("%w: bad ar member size", ErrInvalid)
	}
	return name, size, nil
}

// decompress opens a member's decompressor by its name's extension, with
// the decoders' memory bounded.
func decompress(name string, r io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch {
	case strings.HasSuffix(name, ".tar"):
		return r, nop, nil
	case strings.HasSuffix(name, ".gz"):
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		return z, func() { z.Close() }, nil
	case strings.HasSuffix(name, ".xz"):
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		return z, nop, nil
	case strings.HasSuffix(name, ".zst"):
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nop, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		return z, z.Close, nil
	case strings.HasSuffix(name, ".bz2"):
		return bzip2.NewReader(r), nop, nil
	}
	return nil, nop, fmt.Errorf("%w: unknown compression of %s", ErrInvalid, name)
}

// memberName is a control.tar or data.tar entry name without "./".
func memberName(name string) string {
	return strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/")
}

func (d *Deb) readControl(name string, r io.Reader, lim Limits) (map[string]string, error) {
	zr, done, err := decompress(name, r)
	if err != nil {
		return nil, err
	}
	defer done()
	lr := &io.LimitedReader{R: zr, N: lim.MaxControl + 1}
	tr := tar.NewReader(lr)
	var sums map[string]string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("%w: control.tar larger than %d bytes", ErrTooLarge, lim.MaxControl)
			}
			return nil, fmt.Errorf("%w: control.tar: %v", ErrInvalid, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("%w: control.tar larger than %d bytes", ErrTooLarge, lim.MaxControl)
			}
			return nil, fmt.Errorf("%w: control.tar: %v", ErrInvalid, err)
		}
		switch n := memberName(h.Name); n {
		case "control":
			if d.Fields, err = parseControl(string(body)); err != nil {
				return nil, err
			}
		case "md5sums":
			sums = map[string]string{}
			for _, line := range strings.Split(string(body), "\n") {
				sum, file, ok := strings.Cut(strings.TrimSpace(line), " ")
				if !ok {
					continue
				}
				sums[path.Clean("/"+strings.TrimSpace(file))] = strings.ToLower(sum)
			}
		case "conffiles":
			for _, line := range strings.Split(string(body), "\n") {
				// "remove-on-upgrade /etc/x" flags exist since dpkg 1.20.
				fields := strings.Fields(line)
				if len(fields) > 0 {
					d.Conffiles[path.Clean(fields[len(fields)-1])] = true
				}
			}
		default:
			if !strings.Contains(n, "/") && n != "" {
				d.Scripts[n] = string(body)
			}
		}
	}
	if d.Fields == nil {
		return nil, fmt.Errorf("%w: control.tar has no control file", ErrInvalid)
	}
	return sums, nil
}

// parseControl reads a deb822 paragraph: "Name: value" lines, with
// continuation lines starting with a space or tab.
func parseControl(text string) ([]Field, error) {
	var fields []Field
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				break // a binary package's control file is one paragraph
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				return nil, fmt.Errorf("%w: control line %d continues nothing", ErrInvalid, i+1)
			}
			fields[len(fields)-1].Value += "\n" + line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%w: control line %d is not a field", ErrInvalid, i+1)
		}
		fields = append(fields, Field{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return fields, nil
}

// safePath cleans a data.tar name into an absolute path, refusing names
// that climb out of the root.
func safePath(name string) (string, error) {
	n := memberName(name)
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: data.tar entry %q climbs out of the root", ErrInvalid, name)
		}
	}
	if strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("%w: data.tar entry name holds a NUL", ErrInvalid)
	}
	return path.Clean("/" + n), nil
}

func (d *Deb) readData(ctx context.Context, name string, r io.Reader, dir string, sums map[string]string, lim Limits) error {
	zr, done, err := decompress(name, r)
	if err != nil {
		return err
	}
	defer done()
	lr := &io.LimitedReader{R: zr, N: lim.MaxData + 1}
	tr := tar.NewReader(lr)
	byPath := map[string]int{}
	buf := make([]byte, 256<<10)
	h5 := md5.New()
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if lr.N <= 0 {
				return fmt.Errorf("%w: data.tar larger than %d bytes", ErrTooLarge, lim.MaxData)
			}
			return fmt.Errorf("%w: data.tar: %v", ErrInvalid, err)
		}
		if len(d.Entries) >= lim.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.MaxEntries)
		}
		p, err := safePath(h.Name)
		if err != nil {
			return err
		}
		if p == "/" {
			continue
		}
		e := Entry{Path: p, Type: h.Typeflag, Mode: h.Mode & 0o7777, Owner: h.Uname, Group: h.Gname, MTime: h.ModTime.UTC()}
		if e.Owner == "" {
			e.Owner = strconv.Itoa(h.Uid)
		}
		if e.Group == "" {
			e.Group = strconv.Itoa(h.Gid)
		}
		if e.MTime.After(d.BuildTime) {
			d.BuildTime = e.MTime
		}
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeSymlink:
			e.Target = h.Linkname
		case tar.TypeLink:
			target, err := safePath(h.Linkname)
			if err != nil {
				return err
			}
			i, ok := byPath[target]
			if !ok || d.Entries[i].Type != tar.TypeReg {
				return fmt.Errorf("%w: hard link %s to %s, which is not an earlier file", ErrInvalid, p, target)
			}
			// The same extracted body, listed twice: every format can hold
			// two files, not all can hold a hard link.
			e.Type, e.Source, e.Size, e.Hardlink = tar.TypeReg, d.Entries[i].Source, d.Entries[i].Size, true
		case tar.TypeReg, tar.TypeRegA:
			e.Type = tar.TypeReg
			e.Source = filepath.Join(dir, fmt.Sprintf("f%07d", n))
			h5.Reset()
			size, err := extract(e.Source, tr, h5, buf)
			if err != nil {
				if lr.N <= 0 {
					return fmt.Errorf("%w: data.tar larger than %d bytes", ErrTooLarge, lim.MaxData)
				}
				return fmt.Errorf("%w: %s: %v", ErrInvalid, p, err)
			}
			e.Size = size
			if want, ok := sums[p]; ok && want != hex.EncodeToString(h5.Sum(nil)) {
				return fmt.Errorf("%w: %s does not match its md5sums entry", ErrInvalid, p)
			}
		default:
			e.Skipped = fmt.Sprintf("tar type %q (device, fifo or other special file)", h.Typeflag)
		}
		if _, dup := byPath[p]; dup {
			return fmt.Errorf("%w: %s appears twice", ErrInvalid, p)
		}
		byPath[p] = len(d.Entries)
		d.Entries = append(d.Entries, e)
	}
}

// extract copies a body to a new file, hashing it on the way.
func extract(dst string, r io.Reader, h io.Writer, buf []byte) (int64, error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(io.MultiWriter(f, h), r, buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
