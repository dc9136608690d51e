package service

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/packhouse/packhouse/internal/index/rpmmd"
	"github.com/packhouse/packhouse/internal/lazyre"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/rpm"
)

// rpmRepo publishes a view as a dnf/yum (rpm-md) repository: primary,
// filelists and other, gzip'd, listed by repodata/repomd.xml with a
// detached signature, repomd.xml.asc. Every architecture is in the one
// repository, as dnf expects.
var rpmRepo = &publisher{
	format:  meta.FormatRPM,
	version: "rpm-md-1",
	index:   (*Service).rpmIndex,
	sign:    (*Service).rpmSign,
}

// parseRPM reads an rpm's headers. Its Control is the package's rpm-md
// entry as JSON, less what depends on the file as a whole, which comes
// from the package's row.
func parseRPM(r io.Reader) (*meta.Package, error) {
	info, err := rpm.Read(r, rpm.DefaultLimits())
	if err != nil {
		return nil, formatError(err, rpm.ErrInvalid, rpm.ErrTooLarge)
	}
	m := &info.Meta
	if m.Name == "" || m.Version == "" || m.Arch == "" {
		return nil, fmt.Errorf("%w: rpm without name, version or architecture", ErrInvalidPackage)
	}
	return jsonPackage(meta.FormatRPM, m.Name, rpmEVR(m), m.Arch, m)
}

// rpmEVR is [epoch:]version-release, the version a branch knows an rpm by.
func rpmEVR(m *rpmmd.Package) string {
	v := m.Version + "-" + m.Release
	if m.Epoch != "" && m.Epoch != "0" {
		v = m.Epoch + ":" + v
	}
	return v
}

// rpmLocation is where a view serves an rpm, relative to its root. It
// names the package by hash, so that it means the same bytes in every
// view, and ends in the name rpm gives its packages.
func rpmLocation(p *meta.Package, m *rpmmd.Package) string {
	return "packages/" + p.SHA256 + "/" + rpmFileName(m)
}

func rpmFileName(m *rpmmd.Package) string {
	return m.Name + "-" + m.Version + "-" + m.Release + "." + m.Arch + ".rpm"
}

func decodeRPM(p *meta.Package) (any, error) {
	m := new(rpmmd.Package)
	if err := json.Unmarshal([]byte(p.Control), m); err != nil {
		return nil, err
	}
	m.SHA256, m.PackageSize, m.Location = p.SHA256, p.Size, rpmLocation(p, m)
	m.FileTime = p.Created.Unix()
	return m, nil
}

var rpmKinds = []chunkKind{
	{name: "primary", append: func(b []byte, _ *meta.Package, d any) ([]byte, error) {
		return rpmmd.AppendPrimary(b, d.(*rpmmd.Package)), nil
	}},
	{name: "filelists", append: func(b []byte, _ *meta.Package, d any) ([]byte, error) {
		return rpmmd.AppendFilelists(b, d.(*rpmmd.Package)), nil
	}},
	{name: "other", append: func(b []byte, _ *meta.Package, d any) ([]byte, error) {
		return rpmmd.AppendOther(b, d.(*rpmmd.Package)), nil
	}},
}

func (s *Service) rpmIndex(ctx context.Context, b *build) error {
	runs := s.layouts.order(fmt.Sprint(b.repo.ID, "/rpm/", b.suite), b.entries)
	keys, err := s.buildChunks(ctx, b, runs, rpmKinds, decodeRPM)
	if err != nil {
		return err
	}
	n := len(b.entries)
	heads := [][]byte{rpmmd.PrimaryHeader(n), rpmmd.FilelistsHeader(n), rpmmd.OtherHeader(n)}
	// The heads count the packages: one more, and each document changes
	// from its first byte on (see guess).
	nextHeads := [][]byte{rpmmd.PrimaryHeader(n + 1), rpmmd.FilelistsHeader(n + 1), rpmmd.OtherHeader(n + 1)}
	feet := [][]byte{rpmmd.PrimaryFooter(), rpmmd.FilelistsFooter(), rpmmd.OtherFooter()}
	for k, kind := range rpmKinds {
		head, err := s.fixedChunk(b, heads[k], true)
		if err != nil {
			return err
		}
		foot, err := s.fixedChunk(b, feet[k], true)
		if err != nil {
			return err
		}
		all := append(append([]string{head}, keys[k]...), foot)
		path := "repodata/" + kind.name + ".xml.gz"
		s.addFile(ctx, b, path, all, true)
		// The uncompressed document is not served, but repomd.xml gives
		// its checksum and size.
		i := len(b.open)
		b.open = append(b.open, openSum{})
		s.sumLater(ctx, b, path+":open", all, false, func(h hash.Hash, size int64) {
			b.open[i] = openSum{hex.EncodeToString(h.Sum(nil)), size}
		})
		// The layout puts a new package at the end: every chunk but the
		// last stays (a build resumes from the longest prefix that does).
		next := keys[k]
		b.guesses = append(b.guesses, guess{name: path, head: nextHeads[k], keys: next, gzip: true},
			guess{name: path + ":open", head: nextHeads[k], keys: next})
	}
	return nil
}

// openSum is an index file's uncompressed checksum and size.
type openSum struct {
	sha256 string
	size   int64
}

func (s *Service) rpmSign(_ context.Context, b *build) error {
	data := make([]rpmmd.Data, len(b.files))
	for i, f := range b.files {
		kind := strings.TrimSuffix(strings.TrimPrefix(f.Path, "repodata/"), ".xml.gz")
		data[i] = rpmmd.Data{
			Type: kind, Checksum: f.SHA256, Size: f.Size,
			OpenChecksum: b.open[i].sha256, OpenSize: b.open[i].size,
			Location:  rpmDataLocation(f.SHA256, kind),
			Timestamp: b.date.Unix(),
		}
	}
	repomd := rpmmd.RepoMD(b.date.Unix(), data)
	sig, err := s.key.DetachSign(repomd, b.date)
	if err != nil {
		return fmt.Errorf("sign repomd.xml: %w", err)
	}
	b.signed = map[string][]byte{"repodata/repomd.xml": repomd, "repodata/repomd.xml.asc": sig}
	return nil
}

// rpmDataLocation names a metadata file by its hash, as createrepo_c's
// unique-md-filenames does: the names change with the content, so caches
// never mix two versions.
func rpmDataLocation(sha256, kind string) string {
	return "repodata/" + sha256 + "-" + kind + ".xml.gz"
}

var rpmDataRE = lazyre.New(`^repodata/([0-9a-f]{64})-(primary|filelists|other)\.xml\.gz$`)

// RPMFile returns a file of a dnf repository view: repodata/repomd.xml,
// its signature, the key that signs it (repomd.xml.key, where zypper
// looks for it), a metadata file, or (as a package) an rpm under
// packages/.
func (s *Service) RPMFile(ctx context.Context, repoName, suite, file string) (Content, *meta.Package, error) {
	if rest, ok := strings.CutPrefix(file, "packages/"); ok {
		sha, name, ok := strings.Cut(rest, "/")
		if !ok || len(sha) != 64 {
			return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
		}
		p, err := s.findInView(ctx, repoName, suite, meta.FormatRPM, func(e *meta.Entry) bool { return e.SHA256 == sha })
		if err != nil {
			return Content{}, nil, err
		}
		m, err := decodeRPM(p)
		if err != nil {
			return Content{}, nil, err
		}
		if rpmFileName(m.(*rpmmd.Package)) != name {
			return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
		}
		return Content{}, p, nil
	}
	if m := rpmDataRE.FindStringSubmatch(file); m != nil {
		c, err := s.hashedIndexFile(ctx, repoName, meta.FormatRPM, suite, "repodata/"+m[2]+".", m[1])
		return c, nil, err
	}
	if file == "repodata/repomd.xml.key" {
		if err := s.CheckView(ctx, repoName, suite); err != nil {
			return Content{}, nil, err
		}
		key, err := s.key.ArmoredPublic()
		return bytesContent(key), nil, err
	}
	if file != "repodata/repomd.xml" && file != "repodata/repomd.xml.asc" {
		return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
	}
	pub, err := s.current(ctx, rpmRepo, repoName, suite)
	if err != nil {
		return Content{}, nil, err
	}
	return bytesContent(pub.Publication.Files[file]), nil, nil
}
