package service

import (
	"context"
	"fmt"
	"sort"

	"github.com/packhouse/packhouse/internal/index/apt"
	"github.com/packhouse/packhouse/internal/meta"
)

// aptRepo publishes a view as an apt repository: per architecture,
// Packages and Packages.gz, listed by a signed Release.
var aptRepo = &publisher{
	format:  meta.FormatDeb,
	version: "apt-packages-1",
	index:   (*Service).aptIndex,
	sign:    (*Service).aptSign,
}

var aptStanza = chunkKind{name: "Packages", append: func(b []byte, p *meta.Package, _ any) ([]byte, error) {
	return apt.AppendStanza(b, &apt.Package{
		Control:  p.Control,
		Filename: apt.PoolPath(p.Name, p.Version, p.Arch, p.SHA256),
		Size:     p.Size, MD5: p.MD5, SHA1: p.SHA1, SHA256: p.SHA256,
	}), nil
}}

func (s *Service) aptIndex(ctx context.Context, b *build) error {
	b.archs = aptArchitectures(b.entries, b.repo.Architectures)
	for _, arch := range b.archs {
		var members []*meta.Entry
		for _, e := range b.entries {
			if e.Arch == arch || e.Arch == "all" {
				members = append(members, e)
			}
		}
		dir := "main/binary-" + arch + "/"
		runs := s.layouts.order(fmt.Sprint(b.repo.ID, "/deb/", b.suite, "/", dir), members)
		keys, err := s.buildChunks(ctx, b, runs, []chunkKind{aptStanza}, nil)
		if err != nil {
			return err
		}
		s.addFile(ctx, b, dir+"Packages", keys[0], false)
		s.addFile(ctx, b, dir+"Packages.gz", keys[0], true)
	}
	return nil
}

func (s *Service) aptSign(_ context.Context, b *build) error {
	var listed []apt.File
	for _, f := range b.files {
		listed = append(listed, apt.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
	}
	rel := apt.Release{
		Origin: s.cfg.Origin, Label: b.repo.Name, Suite: b.suite, Codename: b.suite,
		Description:   fmt.Sprintf("%s at %s", b.repo.Name, b.suite),
		Date:          b.date,
		ValidUntil:    b.validUntil,
		Architectures: b.archs,
		Components:    []string{"main"},
		Files:         listed,
	}
	text := rel.Bytes()
	inRelease, err := s.key.ClearSign(text, b.date)
	if err != nil {
		return fmt.Errorf("sign InRelease: %w", err)
	}
	detached, err := s.key.DetachSign(text, b.date)
	if err != nil {
		return fmt.Errorf("sign Release: %w", err)
	}
	b.signed = map[string][]byte{"Release": text, "InRelease": inRelease, "Release.gpg": detached}
	return nil
}

// aptArchitectures lists the architectures a view's Release offers: the
// repository's own list and every one its packages bring. Packages of
// architecture "all" are listed in every architecture's index.
func aptArchitectures(entries []*meta.Entry, configured []string) []string {
	seen := map[string]bool{}
	for _, a := range configured {
		seen[a] = true
	}
	for _, e := range entries {
		if e.Arch != "all" {
			seen[e.Arch] = true
		}
	}
	if len(seen) == 0 {
		seen["amd64"] = true
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Release returns the apt publication of a repository at a branch.
func (s *Service) Release(ctx context.Context, repoName, suite string) (Published, error) {
	return s.current(ctx, aptRepo, repoName, suite)
}
