package convert

import (
	"archive/tar"
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

	"github.com/packhouse/packhouse/internal/deb"
	"github.com/packhouse/packhouse/internal/deb/control"
)

// ErrInvalid is wrapped by every error about a malformed .deb.
var ErrInvalid = errors.New("invalid .deb")

// ErrTooLarge means a .deb exceeds a Limit.
var ErrTooLarge = errors.New(".deb exceeds a limit")

// Limits bound what ReadDeb accepts. MaxControl bounds the unpacked
// control archive and each file of it (md5sums is long in a large
// package).
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
	Fields control.Paragraph
	// Scripts are preinst, postinst, prerm, postrm, config, templates,
	// triggers, shlibs, symbols, … by name.
	Scripts map[string]string
	// Conffiles are the absolute paths conffiles lists.
	Conffiles map[string]bool
	Entries   []Entry
	// BuildTime is the newest modification time in the package.
	BuildTime time.Time
}

// Get returns a control field's value, matching its name without regard
// to case, as Debian policy says field names are.
func (d *Deb) Get(name string) string { return d.Fields.Get(name) }

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
// must exist and which the caller removes when done. The package is read by
// deb.ReadWith, the reader uploads go through, with every control file
// kept and the data archive handed here to be unpacked.
func ReadDeb(ctx context.Context, r io.Reader, dir string, lim Limits) (*Deb, error) {
	d := &Deb{Scripts: map[string]string{}, Conffiles: map[string]bool{}}
	opts := deb.ReadOptions{ControlData: true, Data: func(p *deb.Package, data io.Reader) error {
		return d.readData(ctx, data, dir, md5sums(p.ControlData["md5sums"]), lim)
	}}
	p, err := deb.ReadWith(r, deb.Limits{MaxControlUnpacked: lim.MaxControl, MaxControlFile: lim.MaxControl}, opts)
	if err != nil {
		switch {
		case errors.Is(err, deb.ErrTooLarge):
			return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
		case errors.Is(err, deb.ErrInvalid):
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return nil, err
	}
	d.Fields = p.Control
	for _, c := range p.Conffiles {
		d.Conffiles[path.Clean(c)] = true
	}
	for name, b := range p.ControlData {
		switch name {
		case "control", "md5sums", "conffiles":
		default:
			if !strings.Contains(name, "/") {
				d.Scripts[name] = string(b)
			}
		}
	}
	return d, nil
}

// md5sums reads an md5sums control file: "SUM  path" lines, paths
// relative to the root.
func md5sums(b []byte) map[string]string {
	sums := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		sum, file, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok {
			sums[path.Clean("/"+strings.TrimSpace(file))] = strings.ToLower(sum)
		}
	}
	return sums
}

// safePath cleans a data.tar name into an absolute path, refusing names
// that climb out of the root.
func safePath(name string) (string, error) {
	n := strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/")
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

func (d *Deb) readData(ctx context.Context, r io.Reader, dir string, sums map[string]string, lim Limits) error {
	lr := &io.LimitedReader{R: r, N: lim.MaxData + 1}
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
