package deb

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/iolimit"
)

// maxControlEntries bounds the entries of a control archive, which has a
// handful in practice, so that tracking their names stays small.
const maxControlEntries = 10000

// errUnpackLimit marks the unpacked control archive reaching its bound; it
// travels up through tar and the decompressors.
var errUnpackLimit = errors.New("unpacked size limit reached")

// algorithms maps the suffixes of control.tar to compression's names.
var algorithms = map[string]string{"": compression.None, "gz": compression.Gzip, "xz": compression.Xz, "zst": compression.Zstd}

// readControl reads the control archive from member m, compressed with
// comp.
func (d *reader) readControl(m *member, comp string) error {
	fail := func(err error) error {
		var fe *formatError
		switch {
		case errors.As(err, &fe):
			return err
		case errors.Is(err, errUnpackLimit):
			return tooLarge("member %q unpacks to more than the limit of %d bytes", m.name, d.lim.MaxControlUnpacked)
		case m.truncated:
			return m.truncatedError()
		case errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("member %q: archive is truncated", m.name)
		}
		return wrapInvalid(err, "member %q", m.name)
	}
	// The unpacked bound also bounds the decompressor's history: a
	// window larger than all the output it serves is never used.
	zr, err := compression.NewReader(m, algorithms[comp], d.lim.MaxControlUnpacked)
	if err != nil {
		return fail(err)
	}
	defer zr.Close()
	lr := &iolimit.Reader{R: zr, N: d.lim.MaxControlUnpacked, Err: errUnpackLimit}
	if err := d.readControlTar(tar.NewReader(lr), m.name); err != nil {
		return fail(err)
	}
	// Unpacking the rest verifies the compressed stream's checksums and
	// catches a bomb hidden after the end of the tar archive.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return fail(err)
	}
	return nil
}

// readData hands the data archive from member m, compressed with comp, to
// the caller's ReadOptions.Data.
func (d *reader) readData(m *member, comp string) error {
	algo, ok := algorithms[comp]
	if !ok {
		return invalid("member %q: %s compression cannot be unpacked", m.name, comp)
	}
	zr, err := compression.NewReader(m, algo, d.lim.MaxDataWindow)
	if err != nil {
		if m.truncated {
			return m.truncatedError()
		}
		return wrapInvalid(err, "member %q", m.name)
	}
	defer zr.Close()
	if err := d.opts.Data(d.pkg, &dataReader{r: zr, member: m.name}); err != nil {
		if m.truncated {
			return m.truncatedError()
		}
		return err
	}
	return nil
}

// dataReader marks the decompressor's errors as the package's fault, so
// that a data member that ends mid-stream is ErrInvalid even as the
// caller's Data hands the error back.
type dataReader struct {
	r      io.Reader
	member string
}

func (d *dataReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = wrapInvalid(err, "member %q", d.member)
	}
	return n, err
}

func (d *reader) readControlTar(tr *tar.Reader, member string) error {
	entries := make(map[string]byte)
	var controlFile []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(entries) >= maxControlEntries {
			return tooLarge("member %q has more than %d entries", member, maxControlEntries)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := entryName(h.Name)
		if err != nil {
			return wrapInvalid(err, "%s", member)
		}
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if entries[dir] == tar.TypeSymlink {
				return invalid("%s: entry %q is below symbolic link %q", member, h.Name, dir)
			}
		}
		if _, dup := entries[name]; dup {
			return invalid("%s: duplicate entry %q", member, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink:
			if h.Linkname == "" || path.IsAbs(h.Linkname) || escapes(path.Join(path.Dir(name), h.Linkname)) {
				return invalid("%s: entry %q is a symbolic link to %q, outside the archive", member, h.Name, h.Linkname)
			}
		case tar.TypeLink:
			target, err := entryName(h.Linkname)
			if err != nil || entries[target] != tar.TypeReg {
				return invalid("%s: entry %q is a hard link to %q, which is not an earlier file in the archive", member, h.Name, h.Linkname)
			}
		default:
			return invalid("%s: entry %q is a %s; only regular files, directories and links are allowed", member, h.Name, typeName(h.Typeflag))
		}
		if name == "." {
			if h.Typeflag != tar.TypeDir {
				return invalid("%s: entry %q is not a directory", member, h.Name)
			}
			continue
		}
		entries[name] = h.Typeflag
		if h.Typeflag != tar.TypeReg {
			if name == "control" || name == "conffiles" {
				return invalid("%s: %s is not a regular file", member, name)
			}
			continue
		}
		d.pkg.ControlFiles = append(d.pkg.ControlFiles, name)
		if name != "control" && name != "conffiles" && d.pkg.ControlData == nil {
			continue
		}
		if h.Size > d.lim.MaxControlFile {
			return tooLarge("%s: %s file is %d bytes, over the limit of %d", member, name, h.Size, d.lim.MaxControlFile)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return err
		}
		if d.pkg.ControlData != nil {
			d.pkg.ControlData[name] = b
		}
		switch name {
		case "control":
			controlFile = b
		case "conffiles":
			if err := d.readConffiles(b); err != nil {
				return err
			}
		}
	}
	if controlFile == nil {
		return invalid("%s: no control file", member)
	}
	return d.checkControl(controlFile)
}

// entryName returns the name of a control archive entry relative to its
// root ("./postinst" is "postinst", "./" is "."), refusing any name that
// could leave the directory it is unpacked into.
func entryName(raw string) (string, error) {
	if raw == "" {
		return "", invalid("entry with an empty name")
	}
	if strings.HasPrefix(raw, "/") {
		return "", invalid("entry %q has an absolute path", raw)
	}
	name := path.Clean(raw)
	if escapes(name) {
		return "", invalid("entry %q escapes the archive", raw)
	}
	for part := range strings.SplitSeq(raw, "/") {
		if part == ".." {
			return "", invalid("entry %q has a \"..\" component", raw)
		}
	}
	return name, nil
}

// escapes reports whether a cleaned relative path leaves its root.
func escapes(clean string) bool {
	return clean == ".." || strings.HasPrefix(clean, "../")
}

func typeName(flag byte) string {
	switch flag {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	case tar.TypeGNUSparse:
		return "sparse file"
	}
	return fmt.Sprintf("entry of type %q", flag)
}

// readConffiles reads the list of configuration files, as dpkg does:
// since dpkg 1.20.6 a path may follow a flag ("remove-on-upgrade
// /etc/foo.conf"), and empty lines are errors.
func (d *reader) readConffiles(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			return invalid("conffiles: line %d is empty", i+1)
		}
		p := line
		if !strings.HasPrefix(line, "/") {
			flag, rest := line, ""
			if j := strings.IndexAny(line, " \t"); j >= 0 {
				flag, rest = line[:j], strings.TrimLeft(line[j:], " \t")
			}
			if flag != "remove-on-upgrade" {
				return invalid("conffiles: line %d: %q is not an absolute path", i+1, line)
			}
			p = rest
		}
		if !strings.HasPrefix(p, "/") {
			return invalid("conffiles: line %d: %q is not an absolute path", i+1, line)
		}
		d.pkg.Conffiles = append(d.pkg.Conffiles, p)
	}
	return nil
}
