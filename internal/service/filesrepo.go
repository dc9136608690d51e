package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/packhouse/packhouse/internal/deb/version"
	"github.com/packhouse/packhouse/internal/meta"
)

// filesRepo publishes a view's plain files: a SHA256SUMS list, signed
// (SHA256SUMS.asc), as release downloads commonly are. Listings and
// downloads are read from the view itself.
var filesRepo = &publisher{
	format:  meta.FormatFile,
	version: "sha256sums-1",
	index:   (*Service).filesIndex,
	sign:    (*Service).filesSign,
}

// PlainFile is one plain file of a view.
type PlainFile struct {
	Name, Version, Arch string
	Package             meta.Package
}

// Path is the file's stable path below the view: NAME/VERSION/FILENAME.
func (f *PlainFile) Path() string {
	return f.Name + "/" + f.Version + "/" + f.Package.Filename
}

// PlainFiles lists a view's plain files, by name, then newest version
// first.
func (s *Service) PlainFiles(ctx context.Context, repoName, suite string) ([]PlainFile, error) {
	entries, err := s.viewEntries(ctx, repoName, suite, meta.FormatFile)
	if err != nil {
		return nil, err
	}
	return s.plainFiles(ctx, entries)
}

func (s *Service) plainFiles(ctx context.Context, entries []*meta.Entry) ([]PlainFile, error) {
	pkgs, err := s.entryPackages(ctx, entries)
	if err != nil {
		return nil, err
	}
	out := make([]PlainFile, len(pkgs))
	for i, p := range pkgs {
		out[i] = PlainFile{Name: p.Name, Version: p.Version, Arch: p.Arch, Package: p}
	}
	slices.SortFunc(out, func(a, b PlainFile) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := version.Compare(b.Version, a.Version); c != 0 {
			return c
		}
		if c := strings.Compare(a.Arch, b.Arch); c != 0 {
			return c
		}
		return strings.Compare(a.Package.Filename, b.Package.Filename)
	})
	return out, nil
}

// PlainFileAt returns the plain file at a stable path, NAME/VERSION/FILENAME.
func (s *Service) PlainFileAt(ctx context.Context, repoName, suite, name, ver, filename string) (*meta.Package, error) {
	files, err := s.PlainFiles(ctx, repoName, suite)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Name == name && f.Version == ver && f.Package.Filename == filename {
			return &f.Package, nil
		}
	}
	return nil, fmt.Errorf("no file %s/%s/%s in %s at %s: %w", name, ver, filename, repoName, suite, ErrNotFound)
}

// LatestPlainFile returns the newest version of a plain file in a view,
// of one architecture when arch is set. Versions are ordered as Debian
// orders them: 1.10 after 1.9, 2.0~rc1 before 2.0.
func (s *Service) LatestPlainFile(ctx context.Context, repoName, suite, name, arch string) (*PlainFile, error) {
	files, err := s.PlainFiles(ctx, repoName, suite)
	if err != nil {
		return nil, err
	}
	var found []PlainFile
	for _, f := range files {
		if f.Name == name && (arch == "" || f.Arch == arch) {
			if len(found) > 0 && found[0].Version != f.Version {
				break
			}
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no file named %q in %s at %s: %w", name, repoName, suite, ErrNotFound)
	case 1:
		return &found[0], nil
	}
	var archs []string
	for _, f := range found {
		archs = append(archs, f.Arch+" ("+f.Package.Filename+")")
	}
	return nil, fmt.Errorf("%s %s has %d files: %s; choose one with ?arch=: %w", name, found[0].Version, len(found), strings.Join(archs, ", "), ErrAmbiguous)
}

func (s *Service) filesIndex(ctx context.Context, b *build) error {
	files, err := s.plainFiles(ctx, b.entries)
	if err != nil {
		return err
	}
	var sums []byte
	for _, f := range files {
		sums = fmt.Appendf(sums, "%s  %s\n", f.Package.SHA256, f.Path())
	}
	key, err := s.fixedChunk(b, sums, false)
	if err != nil {
		return err
	}
	s.addFile(ctx, b, "SHA256SUMS", []string{key}, false)
	return nil
}

func (s *Service) filesSign(ctx context.Context, b *build) error {
	sums, err := s.fileBytes(ctx, b, &b.files[0])
	if err != nil {
		return err
	}
	sig, err := s.key.DetachSign(sums, b.date)
	if err != nil {
		return fmt.Errorf("sign SHA256SUMS: %w", err)
	}
	b.signed = map[string][]byte{"SHA256SUMS.asc": sig}
	return nil
}

// PlainSums returns a view's SHA256SUMS or SHA256SUMS.asc.
func (s *Service) PlainSums(ctx context.Context, repoName, suite, file string) (Content, error) {
	pub, err := s.current(ctx, filesRepo, repoName, suite)
	if err != nil {
		return Content{}, err
	}
	if file == "SHA256SUMS.asc" {
		return bytesContent(pub.Publication.Files[file]), nil
	}
	f, err := s.meta.CurrentIndexFile(ctx, pub.Repository.ID, meta.FormatFile, suite, "SHA256SUMS")
	if err != nil {
		return Content{}, err
	}
	return indexContent(f), nil
}
