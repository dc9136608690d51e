package deb

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/pkgtar"
	"github.com/packhouse/packhouse/internal/spec"
)

// The writer's identifiers all start with Write or build so that they
// cannot collide with the reader's, which shares this package.

// WriteOptions tune Write.
type WriteOptions struct {
	// TempDir holds data.tar while it is compressed, because the ar
	// header in front of it needs its size; os.TempDir() when empty.
	TempDir string
}

// WriteDefaultCompression is used when the spec names none: gzip, which
// every dpkg reads, as nfpm does.
const WriteDefaultCompression = compression.Gzip

// Write writes p as a .deb (format 2.0) to w. Memory stays bounded
// whatever the payload: data.tar is compressed to a temporary file while
// md5sums are computed from the same pass, then the ar archive is written
// around it.
func Write(ctx context.Context, w io.Writer, p *spec.Package, opts WriteOptions) error {
	version, err := spec.FullVersion(spec.FormatDeb, p)
	if err != nil {
		return err
	}
	algo := p.Compression
	if algo == "" {
		algo = WriteDefaultCompression
	}
	tmp, err := os.CreateTemp(opts.TempDir, "packhouse-deb-data-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	sums, err := buildData(ctx, tmp, p, algo)
	if err != nil {
		return err
	}
	dataSize, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	control, err := buildControlTar(p, version, sums, algo)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}

	mtime := p.BuildTime.Unix()
	if _, err := io.WriteString(w, "!<arch>\n"); err != nil {
		return err
	}
	if err := writeARMember(w, "debian-binary", mtime, int64(len("2.0\n")), strings.NewReader("2.0\n")); err != nil {
		return err
	}
	if err := writeARMember(w, "control.tar"+compression.Extension(algo), mtime, int64(len(control)), bytes.NewReader(control)); err != nil {
		return err
	}
	return writeARMember(w, "data.tar"+compression.Extension(algo), mtime, dataSize, tmp)
}

// writeARMember writes one member of a System V ar archive, as dpkg-deb
// does: owner 0, mode 100644, padded to an even length.
func writeARMember(w io.Writer, name string, mtime, size int64, body io.Reader) error {
	if len(name) > 16 {
		return fmt.Errorf("ar member name %q is longer than 16 bytes", name)
	}
	hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, mtime, 0, 0, "100644", size)
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(body, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("ar member %s: wrote %d of %d bytes", name, n, size)
	}
	if size%2 == 1 {
		_, err = io.WriteString(w, "\n")
	}
	return err
}

// buildSums is what the data pass learns for the control archive.
type buildSums struct {
	md5sums   bytes.Buffer // "<md5>  <path>\n", in payload order
	installed int64        // KiB, as dpkg counts: each file rounded up, one per other entry
}

func buildData(ctx context.Context, out io.Writer, p *spec.Package, algo string) (*buildSums, error) {
	cw, err := compression.NewWriter(out, algo, p.CompressionLevel)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(cw)
	pw := pkgtar.NewWriter(tw, "./", tar.FormatGNU)
	root := &spec.Content{Type: spec.TypeDir, Destination: "/", Mode: 0o755, Owner: "root", Group: "root", MTime: p.BuildTime}
	if err := pw.Write(ctx, root, nil); err != nil {
		return nil, err
	}
	sums := &buildSums{}
	h := md5.New()
	var sum [md5.Size]byte
	for i := range p.Contents {
		c := &p.Contents[i]
		if !pkgtar.InPayload(c) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !pkgtar.IsFile(c) {
			if err := pw.Write(ctx, c, nil); err != nil {
				return nil, err
			}
			sums.installed++
			continue
		}
		h.Reset()
		if err := pw.Write(ctx, c, nil, h); err != nil {
			return nil, err
		}
		sums.installed += (c.Size + 1023) / 1024
		fmt.Fprintf(&sums.md5sums, "%s  %s\n", hex.EncodeToString(h.Sum(sum[:0])), strings.TrimPrefix(c.Destination, "/"))
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := cw.Close(); err != nil {
		return nil, err
	}
	return sums, nil
}

// buildControlTar makes control.tar in memory: it holds the control file,
// md5sums, conffiles and scripts, all small (md5sums is the largest, about
// 50 bytes a file). It is compressed as data.tar is, as dpkg-deb -Z does:
// every dpkg that reads a data.tar.zst reads a control.tar.zst, and with
// 20,000 files, gzip -9 of md5sums costs more than zstd of the files.
func buildControlTar(p *spec.Package, version string, sums *buildSums, algo string) ([]byte, error) {
	control, err := buildControlFile(p, version, sums.installed)
	if err != nil {
		return nil, err
	}
	type member struct {
		name string
		mode int64
		body []byte
	}
	members := []member{{"control", 0o644, control}}
	if sums.md5sums.Len() > 0 {
		members = append(members, member{"md5sums", 0o644, sums.md5sums.Bytes()})
	}
	var conffiles strings.Builder
	for i := range p.Contents {
		c := &p.Contents[i]
		if c.Type == spec.TypeConfig || c.Type == spec.TypeConfigNoReplace {
			conffiles.WriteString(c.Destination + "\n")
		}
	}
	if conffiles.Len() > 0 {
		members = append(members, member{"conffiles", 0o644, []byte(conffiles.String())})
	}
	for _, s := range []struct{ name, body string }{
		{"preinst", p.Scripts.PreInstall}, {"postinst", p.Scripts.PostInstall},
		{"prerm", p.Scripts.PreRemove}, {"postrm", p.Scripts.PostRemove},
		{"config", p.Scripts.Config},
	} {
		if s.body != "" {
			members = append(members, member{s.name, 0o755, []byte(s.body)})
		}
	}
	if p.Scripts.Templates != "" {
		members = append(members, member{"templates", 0o644, []byte(p.Scripts.Templates)})
	}
	if p.Triggers != "" {
		members = append(members, member{"triggers", 0o644, []byte(p.Triggers)})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].name < members[j].name })

	var buf bytes.Buffer
	level := p.CompressionLevel
	if algo == compression.Gzip && level == 0 {
		level = 9 // dpkg-deb's default
	}
	gz, err := compression.NewWriter(&buf, algo, level)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, Uname: "root", Gname: "root",
			ModTime: p.BuildTime, Format: tar.FormatGNU}
	}
	if err := tw.WriteHeader(hdr("./", tar.TypeDir, 0o755, 0)); err != nil {
		return nil, err
	}
	for _, m := range members {
		if err := tw.WriteHeader(hdr("./"+m.name, tar.TypeReg, m.mode, int64(len(m.body)))); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteErrField is returned for a control field value deb cannot hold.
var WriteErrField = errors.New("invalid control field value")

// buildControlFile writes the control file's fields in the order
// dpkg-deb and Debian policy list them.
func buildControlFile(p *spec.Package, version string, installedKiB int64) ([]byte, error) {
	var b bytes.Buffer
	var ferr error
	field := func(name, value string) {
		value = strings.TrimSpace(value)
		if value == "" || ferr != nil {
			return
		}
		if strings.ContainsAny(value, "\n\r") {
			ferr = fmt.Errorf("%w: %s must be one line, got %q", WriteErrField, name, value)
			return
		}
		fmt.Fprintf(&b, "%s: %s\n", name, value)
	}
	list := func(name string, deps []string) { field(name, strings.Join(deps, ", ")) }
	field("Package", p.Name)
	field("Version", version)
	field("Architecture", p.Arch)
	field("Maintainer", p.Maintainer)
	field("Installed-Size", fmt.Sprint(installedKiB))
	list("Pre-Depends", p.PreDepends)
	list("Depends", p.Depends)
	list("Recommends", p.Recommends)
	list("Suggests", p.Suggests)
	list("Breaks", p.Breaks)
	list("Conflicts", p.Conflicts)
	list("Replaces", p.Replaces)
	list("Provides", p.Provides)
	field("Section", p.Section)
	field("Priority", p.Priority)
	field("Homepage", p.Homepage)
	standard := map[string]bool{}
	for _, f := range strings.Fields("Package Version Architecture Maintainer Installed-Size Pre-Depends Depends Recommends Suggests Breaks Conflicts Replaces Provides Section Priority Homepage Description") {
		standard[strings.ToLower(f)] = true
	}
	for _, f := range p.Fields {
		if standard[strings.ToLower(f.Name)] {
			return nil, fmt.Errorf("%w: deb.fields sets %s, which packhouse writes itself", WriteErrField, f.Name)
		}
		field(f.Name, f.Value)
	}
	if ferr != nil {
		return nil, ferr
	}
	summary := strings.TrimSpace(p.Summary)
	if summary == "" {
		summary = p.Name
	}
	if strings.ContainsAny(summary, "\n\r") {
		return nil, fmt.Errorf("%w: the summary must be one line", WriteErrField)
	}
	fmt.Fprintf(&b, "Description: %s\n", summary)
	if rest := strings.Trim(p.Description, "\n"); rest != "" {
		for _, line := range strings.Split(rest, "\n") {
			line = strings.TrimRight(line, " \t\r")
			if line == "" {
				line = "."
			}
			fmt.Fprintf(&b, " %s\n", line)
		}
	}
	return b.Bytes(), nil
}

// WriteFileName is the conventional file name of p as a .deb:
// name_version_arch.deb, with the epoch left out as dpkg-name does.
func WriteFileName(p *spec.Package) (string, error) {
	v, err := spec.FullVersion(spec.FormatDeb, p)
	if err != nil {
		return "", err
	}
	if _, rest, ok := strings.Cut(v, ":"); ok {
		v = rest
	}
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, v, p.Arch), nil
}
