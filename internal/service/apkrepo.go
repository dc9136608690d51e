package service

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/packhouse/packhouse/internal/index/apkindex"
	"github.com/packhouse/packhouse/internal/meta"
)

// apkRepo publishes a view as an Alpine repository: per architecture, an
// APKINDEX.tar.gz signed with the server's RSA key. apk verifies the
// signature over the index's one gzip member as a whole, so the index is
// made whole on each change, not of chunks.
var apkRepo = &publisher{
	format:  meta.FormatAPK,
	version: "apkindex-1",
	index:   (*Service).apkIndex,
	sign:    func(*Service, context.Context, *build) error { return nil }, // the index carries its signature
}

// apkDefaultArchs always have an index, so that a client of another
// architecture than the packages' finds the noarch ones.
var apkDefaultArchs = []string{"aarch64", "x86_64"}

// APKKeyName is the name apk clients keep the server's public key under
// in /etc/apk/keys, less ".rsa.pub"; signatures name it.
func (s *Service) APKKeyName() string {
	return "packhouse-" + strings.ToLower(s.key.Fingerprint()[:16])
}

// APKPublicKey is the PEM public key apk clients install.
func (s *Service) APKPublicKey() ([]byte, error) {
	priv, ok := s.key.RSA()
	if !ok {
		return nil, fmt.Errorf("the signing key is not RSA, which apk needs: %w", ErrNotFound)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func (s *Service) apkIndex(ctx context.Context, b *build) error {
	priv, ok := s.key.RSA()
	if !ok {
		return fmt.Errorf("apk repositories need an RSA signing key, and this server's is not: %w", ErrNotFound)
	}
	pkgs, err := s.entryPackages(ctx, b.entries)
	if err != nil {
		return err
	}
	byArch := map[string][]*apkindex.Package{}
	var noarch []*apkindex.Package
	for i := range pkgs {
		x := new(apkindex.Package)
		if err := json.Unmarshal([]byte(pkgs[i].Control), x); err != nil {
			return fmt.Errorf("package %s: %w", pkgs[i].SHA256, err)
		}
		x.Size = pkgs[i].Size
		if x.Arch == "noarch" {
			noarch = append(noarch, x)
		} else {
			byArch[x.Arch] = append(byArch[x.Arch], x)
		}
	}
	for _, a := range apkDefaultArchs {
		if _, ok := byArch[a]; !ok {
			byArch[a] = nil
		}
	}
	b.archs = sortedKeys(keysOf(byArch))
	for _, arch := range b.archs {
		index, err := apkindex.Build(append(byArch[arch], noarch...), fmt.Sprintf("%s at %s", b.repo.Name, b.suite), priv, s.APKKeyName())
		if err != nil {
			return err
		}
		key, err := s.fixedChunk(b, index, false)
		if err != nil {
			return err
		}
		s.addFile(ctx, b, arch+"/APKINDEX.tar.gz", []string{key}, false)
	}
	return nil
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// APKFile returns a file of an apk repository view: an architecture's
// APKINDEX.tar.gz, or a package by the name apk asks for,
// NAME-VERSION.apk.
func (s *Service) APKFile(ctx context.Context, repoName, suite, arch, file string) (Content, *meta.Package, error) {
	if file == "APKINDEX.tar.gz" {
		pub, err := s.current(ctx, apkRepo, repoName, suite)
		if err != nil {
			return Content{}, nil, err
		}
		f, err := s.meta.CurrentIndexFile(ctx, pub.Repository.ID, meta.FormatAPK, suite, arch+"/APKINDEX.tar.gz")
		if err != nil {
			return Content{}, nil, err
		}
		return indexContent(f), nil, nil
	}
	if !strings.HasSuffix(file, ".apk") {
		return Content{}, nil, fmt.Errorf("%s: %w", file, ErrNotFound)
	}
	p, err := s.findInView(ctx, repoName, suite, meta.FormatAPK, func(e *meta.Entry) bool {
		return (e.Arch == arch || e.Arch == "noarch") && e.Name+"-"+e.Version+".apk" == file
	})
	return Content{}, p, err
}

// findInView returns the first package of a view that match accepts.
func (s *Service) findInView(ctx context.Context, repoName, suite, format string, match func(*meta.Entry) bool) (*meta.Package, error) {
	entries, err := s.viewEntries(ctx, repoName, suite, format)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if match(e) {
			p, err := s.meta.PackageBySHA256(ctx, e.SHA256)
			return &p, err
		}
	}
	return nil, fmt.Errorf("no such package in %s at %s: %w", repoName, suite, ErrNotFound)
}

// CheckView reports whether a repository has a view at a branch: some
// project of it has the branch, or has it as its default branch.
func (s *Service) CheckView(ctx context.Context, repoName, suite string) error {
	_, err := s.viewSources(ctx, repoName, suite)
	return err
}

func (s *Service) viewSources(ctx context.Context, repoName, suite string) ([]meta.Source, error) {
	repo, err := s.viewRepository(ctx, repoName, suite)
	if err != nil {
		return nil, err
	}
	sources, err := s.meta.Sources(ctx, repo.ID, suite)
	if err != nil {
		return nil, err
	}
	if !hasBranch(sources, suite) {
		return nil, fmt.Errorf("no project of repository %q has a branch %q: %w", repoName, suite, ErrNotFound)
	}
	return sources, nil
}

// viewEntries lists a view's packages of one format.
func (s *Service) viewEntries(ctx context.Context, repoName, suite, format string) ([]*meta.Entry, error) {
	sources, err := s.viewSources(ctx, repoName, suite)
	if err != nil {
		return nil, err
	}
	v, _, err := s.view(ctx, sources)
	if err != nil {
		return nil, err
	}
	return ofFormat(v, format), nil
}
