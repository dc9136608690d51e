package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/index/apt"
	"github.com/packhouse/packhouse/internal/lazyre"
	"github.com/packhouse/packhouse/internal/meta"
)

// Content is a file to serve: bytes, or chunks of an index written out
// one after another.
type Content struct {
	Bytes []byte
	Size  int64
	// SHA256 of the whole; it is the ETag.
	SHA256 string
	// Immutable content may be cached forever: its URL names its hash.
	Immutable bool
	index     *meta.IndexFile
}

// WriteTo writes the content.
func (c Content) WriteTo(ctx context.Context, s *Service, w io.Writer) error {
	if c.index == nil {
		_, err := w.Write(c.Bytes)
		return err
	}
	// Bounded batches: a large index is not loaded whole.
	keys := c.index.Chunks
	for len(keys) > 0 {
		n := min(len(keys), 64)
		data, err := s.chunkBytes(ctx, keys[:n], c.index.Gzip)
		if err != nil {
			return err
		}
		for _, k := range keys[:n] {
			if _, err := w.Write(data[k]); err != nil {
				return err
			}
		}
		keys = keys[n:]
	}
	return nil
}

var (
	byHashRE  = lazyre.New(`^main/binary-([a-z0-9][a-z0-9-]*)/by-hash/SHA256/([0-9a-f]{64})$`)
	packageRE = lazyre.New(`^main/binary-([a-z0-9][a-z0-9-]*)/Packages(\.gz)?$`)
)

// SplitDist splits the path below dists/ into suite and file. Branch names
// may contain '/', so the file is recognised from the end.
func SplitDist(p string) (suite, file string, ok bool) {
	for _, name := range []string{"InRelease", "Release", "Release.gpg"} {
		if s, found := strings.CutSuffix(p, "/"+name); found {
			return s, name, true
		}
	}
	i := strings.Index(p, "/main/binary-")
	if i < 0 {
		return "", "", false
	}
	suite, file = p[:i], p[i+1:]
	if !byHashRE.MatchString(file) && !packageRE.MatchString(file) {
		return "", "", false
	}
	return suite, file, true
}

// AptFile returns a file of a repository's dists/<suite>/ tree.
func (s *Service) AptFile(ctx context.Context, repoName, suite, file string) (Content, error) {
	if m := byHashRE.FindStringSubmatch(file); m != nil {
		return s.hashedIndexFile(ctx, repoName, meta.FormatDeb, suite, "main/binary-"+m[1]+"/", m[2])
	}
	pub, err := s.Release(ctx, repoName, suite)
	if err != nil {
		return Content{}, err
	}
	switch file {
	case "InRelease", "Release", "Release.gpg":
		return bytesContent(pub.Publication.Files[file]), nil
	}
	if !packageRE.MatchString(file) {
		return Content{}, fmt.Errorf("%s: %w", file, ErrNotFound)
	}
	f, err := s.meta.CurrentIndexFile(ctx, pub.Repository.ID, meta.FormatDeb, suite, file)
	if err != nil {
		return Content{}, err
	}
	return indexContent(f), nil
}

// hashedIndexFile returns an index file of a view named by its SHA-256
// (apt's by-hash, rpm-md's locations), below dir. The view is not made
// current first: a client learns such a name from signed files it
// fetched, and the name fixes the bytes. Earlier publications' files stay
// for a grace period, so that a client that read an older InRelease or
// repomd.xml still finds what it names.
func (s *Service) hashedIndexFile(ctx context.Context, repoName, format, suite, dir, sha256 string) (Content, error) {
	repo, err := s.viewRepository(ctx, repoName, suite)
	if err != nil {
		return Content{}, err
	}
	f, err := s.meta.IndexFile(ctx, repo.ID, format, suite, dir, sha256)
	if err != nil {
		return Content{}, err
	}
	c := indexContent(f)
	c.Immutable = true
	return c, nil
}

func bytesContent(b []byte) Content {
	sum := sha256.Sum256(b)
	return Content{Bytes: b, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
}

func indexContent(f meta.IndexFile) Content {
	return Content{Size: f.Size, SHA256: f.SHA256, index: &f}
}

// PoolFile returns a package's file by its pool path, after checking that
// the path is the one the package's index stanza names.
func (s *Service) PoolFile(ctx context.Context, repoName, poolPath string) (meta.Package, error) {
	if err := ValidName("repository", repoName); err != nil {
		return meta.Package{}, err
	}
	parts := strings.Split(poolPath, "/")
	if len(parts) != 4 || parts[0] != "pool" {
		return meta.Package{}, fmt.Errorf("%s: %w", poolPath, ErrNotFound)
	}
	if _, err := blob.ParseDigest(parts[2]); err != nil {
		return meta.Package{}, fmt.Errorf("%s: %w", poolPath, ErrNotFound)
	}
	p, err := s.meta.PackageBySHA256(ctx, parts[2])
	if err != nil {
		return meta.Package{}, err
	}
	if apt.PoolPath(p.Name, p.Version, p.Arch, p.SHA256) != poolPath {
		return meta.Package{}, fmt.Errorf("%s: %w", poolPath, ErrNotFound)
	}
	if _, err := s.meta.Repository(ctx, repoName); err != nil {
		return meta.Package{}, err
	}
	return p, nil
}
