package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/packhouse/packhouse/internal/arch"
	"github.com/packhouse/packhouse/internal/index/pacman"
	"github.com/packhouse/packhouse/internal/meta"
)

// pacmanRepo publishes a view as pacman repositories, one per
// architecture: a .db and a .files database, each with a detached
// signature. A database holds one package per name, the newest; packages
// of architecture "any" are in every architecture's.
var pacmanRepo = &publisher{
	format:  meta.FormatArch,
	version: "pacman-db-1",
	index:   (*Service).pacmanIndex,
	sign:    (*Service).pacmanSign,
}

// pacmanDefaultArchs always have databases, so that a client of another
// architecture than the packages' finds the "any" ones.
var pacmanDefaultArchs = []string{"aarch64", "x86_64"}

// archControl is what a branch keeps of an Arch package: its sync
// database entry, less what depends on the file as a whole, and the
// compression its file name ends in.
type archControl struct {
	pacman.Package
	Compression string `json:",omitempty"`
}

// parseArch reads an Arch package: .PKGINFO, wherever it is in the
// archive, and the file list, for the .files database.
func parseArch(r io.Reader) (*meta.Package, error) {
	info, err := arch.Read(r, arch.DefaultLimits())
	if err != nil {
		return nil, formatError(err, arch.ErrInvalid, arch.ErrTooLarge)
	}
	c := archControl{Package: info.Package, Compression: info.Compression}
	p := &c.Package
	if p.Name == "" || p.Version == "" || p.Arch == "" {
		return nil, fmt.Errorf("%w: .PKGINFO lacks pkgname, pkgver or arch", ErrInvalidPackage)
	}
	p.Filename = archFileName(&c)
	if err := pacman.Validate(p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	return jsonPackage(meta.FormatArch, p.Name, p.Version, p.Arch, &c)
}

// archFileName is the name a view serves an Arch package under, as
// makepkg names it: the database's %FILENAME%.
func archFileName(c *archControl) string {
	name := c.Name + "-" + c.Version + "-" + c.Arch + ".pkg.tar"
	if c.Compression != "" {
		name += "." + c.Compression
	}
	return name
}

func decodeArch(p *meta.Package) (any, error) {
	c := new(archControl)
	if err := json.Unmarshal([]byte(p.Control), c); err != nil {
		return nil, err
	}
	c.Filename, c.CSize, c.SHA256, c.MD5 = archFileName(c), p.Size, p.SHA256, p.MD5
	return &c.Package, nil
}

var pacmanKinds = []chunkKind{
	{name: "db", append: func(b []byte, _ *meta.Package, d any) ([]byte, error) {
		return pacman.AppendEntries(b, d.(*pacman.Package), false)
	}},
	{name: "files", append: func(b []byte, _ *meta.Package, d any) ([]byte, error) {
		return pacman.AppendEntries(b, d.(*pacman.Package), true)
	}},
}

func (s *Service) pacmanIndex(ctx context.Context, b *build) error {
	seen := map[string]bool{}
	for _, a := range pacmanDefaultArchs {
		seen[a] = true
	}
	for _, e := range b.entries {
		if e.Arch != "any" {
			seen[e.Arch] = true
		}
	}
	b.archs = sortedKeys(seen)
	end, err := s.fixedChunk(b, pacman.EndOfArchive(), true)
	if err != nil {
		return err
	}
	for _, a := range b.archs {
		members := newestByName(b.entries, a)
		runs := s.layouts.order(fmt.Sprint(b.repo.ID, "/arch/", b.suite, "/", a), members)
		keys, err := s.buildChunks(ctx, b, runs, pacmanKinds, decodeArch)
		if err != nil {
			return err
		}
		for k, kind := range pacmanKinds {
			s.addFile(ctx, b, a+"/"+kind.name, append(keys[k], end), true)
		}
	}
	return nil
}

// newestByName picks, of the entries of an architecture and of "any",
// the newest version of each name, as libalpm orders versions. Entries
// are sorted by name, so each name's versions are together.
func newestByName(entries []*meta.Entry, arch string) []*meta.Entry {
	var out []*meta.Entry
	for _, e := range entries {
		if e.Arch != arch && e.Arch != "any" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Name == e.Name {
			if pacman.VerCmp(e.Version, out[n-1].Version) > 0 {
				out[n-1] = e
			}
			continue
		}
		out = append(out, e)
	}
	return out
}

func (s *Service) pacmanSign(ctx context.Context, b *build) error {
	b.signed = map[string][]byte{}
	for i := range b.files {
		f := &b.files[i]
		sig, err := s.key.DetachSignStream(func(w io.Writer) error { return s.writeFile(ctx, b, f, w) }, b.date)
		if err != nil {
			return fmt.Errorf("sign %s: %w", f.Path, err)
		}
		b.signed[f.Path+".sig"] = sig
	}
	return nil
}

// ArchFile returns a file of a pacman repository view below ARCH/: a
// database, NAME.db or NAME.files (with .tar.gz, and .sig), named as
// pacman.conf names the repository, or (as a package) a package by the
// file name the database gives it.
func (s *Service) ArchFile(ctx context.Context, repoName, suite, archName, file string) (Content, *meta.Package, error) {
	kind, sig := "", false
	name := file
	if n, ok := strings.CutSuffix(name, ".sig"); ok {
		name, sig = n, true
	}
	for _, k := range []string{"db", "files"} {
		for _, ext := range []string{"." + k, "." + k + ".tar.gz"} {
			if base, ok := strings.CutSuffix(name, ext); ok && base != "" && !strings.Contains(base, "/") {
				kind = k
			}
		}
	}
	if kind == "" {
		if sig || !strings.Contains(file, ".pkg.tar") {
			return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
		}
		p, err := s.findInView(ctx, repoName, suite, meta.FormatArch, func(e *meta.Entry) bool {
			return (e.Arch == archName || e.Arch == "any") && strings.HasPrefix(file, e.Name+"-"+e.Version+"-")
		})
		if err != nil {
			return Content{}, nil, err
		}
		c, err := decodeArch(p)
		if err != nil {
			return Content{}, nil, err
		}
		if c.(*pacman.Package).Filename != file {
			return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
		}
		return Content{}, p, nil
	}
	pub, err := s.current(ctx, pacmanRepo, repoName, suite)
	if err != nil {
		return Content{}, nil, err
	}
	path := archName + "/" + kind
	if sig {
		b, ok := pub.Publication.Files[path+".sig"]
		if !ok {
			return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
		}
		return bytesContent(b), nil, nil
	}
	f, err := s.meta.CurrentIndexFile(ctx, pub.Repository.ID, meta.FormatArch, suite, path)
	if err != nil {
		return Content{}, nil, err
	}
	return indexContent(f), nil, nil
}
