package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/index/apt"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/view"
)

// How an index is cut into chunks. A package whose SHA-256 starts with a
// multiple of chunkEvery ends a chunk: the cuts depend on the packages
// around them only, so one change rewrites one chunk. Chunks are built,
// compressed (each one gzip member; gzip readers take concatenated
// members as one stream) and stored once, then reused by every view that
// has the same run of packages.
const (
	chunkEvery = 128
	chunkMax   = 1024
	// chunkFormat names the stanza format; changing how a stanza is
	// written must change it, so that old chunks are not reused.
	chunkFormat = "apt-packages-1"
)

// Published is the signed state of one view, and the repository it is of.
type Published struct {
	Repository  meta.Repository
	Publication meta.Publication
}

// Release returns the current publication of a repository at a branch,
// publishing first if the view changed since, or if its Release is close
// to expiring. Index builds of one view are serialised; a build changes
// only the chunks whose packages changed.
func (s *Service) Release(ctx context.Context, repoName, suite string) (Published, error) {
	if err := ValidName("repository", repoName); err != nil {
		return Published{}, err
	}
	if err := ValidBranch(suite); err != nil {
		return Published{}, err
	}
	repo, err := s.meta.Repository(ctx, repoName)
	if err != nil {
		return Published{}, err
	}
	sources, err := s.meta.Sources(ctx, repo.ID, suite)
	if err != nil {
		return Published{}, err
	}
	if !hasBranch(sources, suite) {
		return Published{}, fmt.Errorf("no project of repository %q has a branch %q: %w", repoName, suite, ErrNotFound)
	}
	inputs := inputsKey(repo, sources)
	pub, err := s.meta.Publication(ctx, repo.ID, suite)
	if err == nil && s.fresh(pub, inputs) {
		return Published{repo, pub}, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return Published{}, err
	}

	mu, _ := s.publishing.LoadOrStore(fmt.Sprint(repo.ID, "/", suite), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	// Someone may have published while this call waited for the lock.
	pub, err = s.meta.Publication(ctx, repo.ID, suite)
	if err == nil && s.fresh(pub, inputs) {
		return Published{repo, pub}, nil
	}
	prev := pub
	if err != nil {
		prev = meta.Publication{}
	}
	pub, err = s.publish(ctx, repo, suite, sources, prev)
	if errors.Is(err, meta.ErrConflict) {
		// Another server published a newer one.
		pub, err = s.meta.Publication(ctx, repo.ID, suite)
	}
	return Published{repo, pub}, err
}

// hasBranch reports whether a view exists: the branch is some project's
// default branch or exists in some project.
func hasBranch(sources []meta.Source, suite string) bool {
	for _, src := range sources {
		if src.Overlay != nil || src.DefaultBranch == suite {
			return true
		}
	}
	return false
}

func (s *Service) fresh(p meta.Publication, inputs string) bool {
	return p.Inputs == inputs && s.cfg.Now().Before(p.ValidUntil.Add(-s.cfg.ReleaseValidity/4))
}

// inputsKey names what a view's indexes are made from.
func inputsKey(repo meta.Repository, sources []meta.Source) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\narchs %s\n", chunkFormat, strings.Join(repo.Architectures, " "))
	for _, src := range sources {
		fmt.Fprintf(h, "%d", src.ProjectID)
		for _, ref := range []*meta.BranchRef{src.Default, src.Overlay} {
			if ref != nil {
				fmt.Fprintf(h, " %d@%d", ref.ID, ref.Gen)
			} else {
				fmt.Fprint(h, " -")
			}
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Service) publish(ctx context.Context, repo meta.Repository, suite string, sources []meta.Source, prev meta.Publication) (meta.Publication, error) {
	layers := make([]view.Layer, len(sources))
	// The sets may be newer than sources; the inputs are then named by
	// what was really used, and the next read finds them current.
	used := slices.Clone(sources)
	for i, src := range sources {
		var err error
		var gen int64
		if layers[i].Default, gen, err = s.sets.get(ctx, s.meta, src.Default); err != nil {
			return meta.Publication{}, err
		}
		if src.Default != nil {
			used[i].Default = &meta.BranchRef{ID: src.Default.ID, Gen: gen}
		}
		if layers[i].Overlay, gen, err = s.sets.get(ctx, s.meta, src.Overlay); err != nil {
			return meta.Publication{}, err
		}
		if src.Overlay != nil {
			used[i].Overlay = &meta.BranchRef{ID: src.Overlay.ID, Gen: gen}
		}
	}
	v := view.Resolve(layers)
	archs := architectures(v, repo.Architectures)

	var files []meta.IndexFile
	var listed []apt.File
	for _, arch := range archs {
		var members []*meta.Entry
		for e := range v.All() {
			if e.Arch == arch || e.Arch == "all" {
				members = append(members, e)
			}
		}
		chunks, fresh, err := s.buildChunks(ctx, members)
		if err != nil {
			return meta.Publication{}, err
		}
		dir := "main/binary-" + arch + "/"
		for _, kind := range []struct {
			path string
			blob func(meta.Chunk) string
		}{
			{dir + "Packages", func(c meta.Chunk) string { return c.Raw }},
			{dir + "Packages.gz", func(c meta.Chunk) string { return c.Gz }},
		} {
			digests := make([]string, len(chunks))
			for i, c := range chunks {
				digests[i] = kind.blob(c)
			}
			sum, size, err := s.hashes.sum(ctx, s.blobs, fmt.Sprint(repo.ID, "/", suite, "/", kind.path), digests, fresh)
			if err != nil {
				return meta.Publication{}, err
			}
			files = append(files, meta.IndexFile{Path: kind.path, SHA256: sum, Size: size, Chunks: digests})
			listed = append(listed, apt.File{Path: kind.path, Size: size, SHA256: sum})
		}
	}

	// Date never goes backwards, even if the clock does; Release dates
	// have whole seconds, so two publications may share one.
	now := s.cfg.Now().UTC().Truncate(time.Second)
	date := now
	if prev.Date.After(date) {
		date = prev.Date
	}
	rel := apt.Release{
		Origin: s.cfg.Origin, Label: repo.Name, Suite: suite, Codename: suite,
		Description:   fmt.Sprintf("%s at %s", repo.Name, suite),
		Date:          date,
		ValidUntil:    now.Add(s.cfg.ReleaseValidity),
		Architectures: archs,
		Components:    []string{"main"},
		Files:         listed,
	}
	text := rel.Bytes()
	inRelease, err := s.key.ClearSign(text, date)
	if err != nil {
		return meta.Publication{}, fmt.Errorf("sign InRelease: %w", err)
	}
	detached, err := s.key.DetachSign(text, date)
	if err != nil {
		return meta.Publication{}, fmt.Errorf("sign Release: %w", err)
	}
	pub := meta.Publication{RepositoryID: repo.ID, Suite: suite, Inputs: inputsKey(repo, used), Date: date, ValidUntil: rel.ValidUntil}
	for _, b := range []struct {
		data []byte
		to   *string
	}{{text, &pub.Release}, {inRelease, &pub.InRelease}, {detached, &pub.ReleaseGPG}} {
		d, err := blob.PutBytes(ctx, s.blobs, b.data)
		if err != nil {
			return meta.Publication{}, fmt.Errorf("store Release: %w", err)
		}
		*b.to = d.String()
	}
	if err := s.meta.Publish(ctx, pub, files); err != nil {
		return meta.Publication{}, err
	}
	s.log.Debug("published", "repository", repo.Name, "suite", suite, "packages", v.Len(), "architectures", archs)
	return pub, nil
}

// architectures lists the architectures a view's Release offers: the
// repository's own list and every one its packages bring. Packages of
// architecture "all" are listed in every architecture's index.
func architectures(v view.View, configured []string) []string {
	seen := map[string]bool{}
	for _, a := range configured {
		seen[a] = true
	}
	for e := range v.All() {
		if e.Arch != "all" {
			seen[e.Arch] = true
		}
	}
	if len(seen) == 0 {
		seen["amd64"] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// chunkSpec is one run of packages of an index.
type chunkSpec struct {
	key     string
	members []*meta.Entry
}

func cutChunks(members []*meta.Entry) []chunkSpec {
	var out []chunkSpec
	start := 0
	h := sha256.New()
	for i, e := range members {
		if i == start {
			h.Reset()
			io.WriteString(h, chunkFormat)
		}
		io.WriteString(h, e.SHA256)
		if i+1-start >= chunkMax || cutAfter(e.SHA256) || i == len(members)-1 {
			out = append(out, chunkSpec{key: hex.EncodeToString(h.Sum(nil)), members: members[start : i+1]})
			start = i + 1
		}
	}
	if len(out) == 0 {
		// An empty index is one empty chunk, so that Packages.gz is still
		// a valid gzip file.
		h.Reset()
		io.WriteString(h, chunkFormat)
		out = append(out, chunkSpec{key: hex.EncodeToString(h.Sum(nil))})
	}
	return out
}

func cutAfter(sha string) bool {
	var b [2]byte
	if len(sha) < 4 {
		return false
	}
	hex.Decode(b[:], []byte(sha[:4]))
	return (int(b[0])<<8|int(b[1]))%chunkEvery == 0
}

// buildChunks returns the chunks of an index, building those no view has
// made before. fresh holds the bytes of new chunks, by blob digest, so
// that hashing the index does not read them back.
func (s *Service) buildChunks(ctx context.Context, members []*meta.Entry) ([]meta.Chunk, map[string][]byte, error) {
	specs := cutChunks(members)
	out := make([]meta.Chunk, len(specs))
	var missing []int
	var lookup []string
	for i, sp := range specs {
		if c, ok := s.chunks.get(sp.key); ok {
			out[i] = c
			continue
		}
		missing = append(missing, i)
		lookup = append(lookup, sp.key)
	}
	fresh := map[string][]byte{}
	if len(missing) == 0 {
		return out, fresh, nil
	}
	stored, err := s.meta.Chunks(ctx, lookup)
	if err != nil {
		return nil, nil, err
	}
	var build []int
	var ids []int64
	for _, i := range missing {
		if c, ok := stored[specs[i].key]; ok {
			out[i] = c
			s.chunks.put(c)
			continue
		}
		build = append(build, i)
		for _, e := range specs[i].members {
			ids = append(ids, e.PackageID)
		}
	}
	if len(build) == 0 {
		return out, fresh, nil
	}
	pkgs, err := s.meta.PackagesByID(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[int64]*meta.Package, len(pkgs))
	for i := range pkgs {
		byID[pkgs[i].ID] = &pkgs[i]
	}

	// Chunks are independent: build them on every core.
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
		next     = make(chan int)
		made     []meta.Chunk
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, raw, gz, err := s.makeChunk(ctx, specs[i], byID)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out[i] = c
				fresh[c.Raw], fresh[c.Gz] = raw, gz
				made = append(made, c)
				mu.Unlock()
			}
		}()
	}
	for _, i := range build {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if err := s.meta.SaveChunks(ctx, made); err != nil {
		return nil, nil, err
	}
	for _, c := range made {
		s.chunks.put(c)
	}
	return out, fresh, nil
}

func (s *Service) makeChunk(ctx context.Context, sp chunkSpec, byID map[int64]*meta.Package) (meta.Chunk, []byte, []byte, error) {
	var raw []byte
	for _, e := range sp.members {
		p, ok := byID[e.PackageID]
		if !ok {
			return meta.Chunk{}, nil, nil, fmt.Errorf("package %d of an index is not stored", e.PackageID)
		}
		raw = apt.AppendStanza(raw, &apt.Package{
			Control:  p.Control,
			Filename: apt.PoolPath(p.Name, p.Version, p.Arch, p.SHA256),
			Size:     p.Size, MD5: p.MD5, SHA1: p.SHA1, SHA256: p.SHA256,
		})
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return meta.Chunk{}, nil, nil, err
	}
	rawD, err := blob.PutBytes(ctx, s.blobs, raw)
	if err != nil {
		return meta.Chunk{}, nil, nil, err
	}
	gzD, err := blob.PutBytes(ctx, s.blobs, gz.Bytes())
	if err != nil {
		return meta.Chunk{}, nil, nil, err
	}
	c := meta.Chunk{Key: sp.key, Raw: rawD.String(), RawSize: int64(len(raw)), Gz: gzD.String(), GzSize: int64(gz.Len())}
	return c, raw, gz.Bytes(), nil
}

// chunkCache keeps chunk descriptions in memory; the database has them all.
type chunkCache struct {
	mu sync.Mutex
	m  map[string]meta.Chunk
}

const chunkCacheMax = 1 << 18

func (c *chunkCache) init() { c.m = map[string]meta.Chunk{} }

func (c *chunkCache) get(key string) (meta.Chunk, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[key]
	return ch, ok
}

func (c *chunkCache) put(ch meta.Chunk) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= chunkCacheMax {
		clear(c.m)
	}
	c.m[ch.Key] = ch
}

// hashCache makes hashing an index file cost what changed: it keeps, for
// each file of each view, the SHA-256 state after every chunk, named by a
// hash chain over the chunk digests before it. A new build resumes from
// the last state whose chain still matches.
type hashCache struct {
	mu sync.Mutex
	m  map[string][]midstate
}

type midstate struct {
	chain [sha256.Size]byte
	state []byte
	size  int64
}

const hashCacheMax = 4096

func (c *hashCache) init() { c.m = map[string][]midstate{} }

func (c *hashCache) sum(ctx context.Context, blobs blob.Store, file string, digests []string, fresh map[string][]byte) (string, int64, error) {
	c.mu.Lock()
	prev := c.m[file]
	c.mu.Unlock()

	chains := make([][sha256.Size]byte, len(digests))
	var chain [sha256.Size]byte
	for i, d := range digests {
		chain = sha256.Sum256(append(chain[:], d...))
		chains[i] = chain
	}
	k := 0
	for k < len(prev) && k < len(digests) && prev[k].chain == chains[k] {
		k++
	}
	h := sha256.New()
	var size int64
	if k > 0 {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(prev[k-1].state); err != nil {
			return "", 0, err
		}
		size = prev[k-1].size
	}
	states := append(make([]midstate, 0, len(digests)), prev[:k]...)
	for i := k; i < len(digests); i++ {
		n, err := copyBlob(ctx, h, blobs, digests[i], fresh)
		if err != nil {
			return "", 0, err
		}
		size += n
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return "", 0, err
		}
		states = append(states, midstate{chain: chains[i], state: st, size: size})
	}
	c.mu.Lock()
	if len(c.m) >= hashCacheMax {
		clear(c.m)
	}
	c.m[file] = states
	c.mu.Unlock()
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func copyBlob(ctx context.Context, w io.Writer, blobs blob.Store, digest string, fresh map[string][]byte) (int64, error) {
	if b, ok := fresh[digest]; ok {
		n, err := w.Write(b)
		return int64(n), err
	}
	d, err := blob.ParseDigest(digest)
	if err != nil {
		return 0, err
	}
	r, err := blobs.Open(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("index chunk %s: %w", digest, err)
	}
	defer r.Close()
	return io.Copy(w, r)
}
