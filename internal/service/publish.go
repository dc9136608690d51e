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
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

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
	var made []meta.Chunk
	for _, arch := range archs {
		var members []*meta.Entry
		for e := range v.All() {
			if e.Arch == arch || e.Arch == "all" {
				members = append(members, e)
			}
		}
		dir := "main/binary-" + arch + "/"
		keys, fresh, err := s.buildChunks(ctx, s.layouts.order(fmt.Sprint(repo.ID, "/", suite, "/", dir), members))
		if err != nil {
			return meta.Publication{}, err
		}
		made = append(made, fresh...)
		for _, f := range []meta.IndexFile{{Path: dir + "Packages"}, {Path: dir + "Packages.gz", Gzip: true}} {
			f.Chunks = keys
			f.SHA256, f.Size, err = s.hashes.sum(ctx, s, fmt.Sprint(repo.ID, "/", suite, "/", f.Path), keys, f.Gzip)
			if err != nil {
				return meta.Publication{}, err
			}
			files = append(files, f)
			listed = append(listed, apt.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
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
	pub := meta.Publication{RepositoryID: repo.ID, Suite: suite, Inputs: inputsKey(repo, used), Date: date, ValidUntil: rel.ValidUntil,
		Release: text, InRelease: inRelease, ReleaseGPG: detached}
	if err := s.meta.Publish(ctx, pub, files, made, s.cfg.Now().Add(-s.cfg.IndexGrace)); err != nil {
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

// cutChunks cuts a run of an index into chunks. An empty index is one
// empty chunk, so that Packages.gz is still a valid gzip file; an empty run
// after the first adds nothing.
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

// buildChunks returns the chunk keys of an index laid out in runs, and the
// chunks that no view had made before, which the publication stores.
func (s *Service) buildChunks(ctx context.Context, runs [][]*meta.Entry) ([]string, []meta.Chunk, error) {
	var specs []chunkSpec
	for _, run := range runs {
		if len(run) > 0 {
			specs = append(specs, cutChunks(run)...)
		}
	}
	if len(specs) == 0 {
		specs = cutChunks(nil)
	}
	keys := make([]string, len(specs))
	var unknown []string
	for i, sp := range specs {
		keys[i] = sp.key
		if _, ok := s.chunks.get(sp.key); !ok {
			unknown = append(unknown, sp.key)
		}
	}
	if len(unknown) == 0 {
		return keys, nil, nil
	}
	stored, err := s.meta.HasChunks(ctx, unknown)
	if err != nil {
		return nil, nil, err
	}
	var build []chunkSpec
	var ids []int64
	for _, sp := range specs {
		if _, ok := s.chunks.get(sp.key); ok || stored[sp.key] {
			continue
		}
		build = append(build, sp)
		for _, e := range sp.members {
			ids = append(ids, e.PackageID)
		}
	}
	if len(build) == 0 {
		return keys, nil, nil
	}
	pkgs, err := s.meta.PackagesByID(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[int64]*meta.Package, len(pkgs))
	for i := range pkgs {
		byID[pkgs[i].ID] = &pkgs[i]
	}

	// Chunks are independent: compress them on every core.
	made := make([]meta.Chunk, len(build))
	errs := make([]error, len(build))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				made[i], errs[i] = makeChunk(build[i], byID)
			}
		}()
	}
	for i := range build {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	for _, c := range made {
		s.chunks.put(c.Key, c.Raw, c.Gz)
	}
	return keys, made, nil
}

func makeChunk(sp chunkSpec, byID map[int64]*meta.Package) (meta.Chunk, error) {
	var raw []byte
	for _, e := range sp.members {
		p, ok := byID[e.PackageID]
		if !ok {
			return meta.Chunk{}, fmt.Errorf("package %d of an index is not stored", e.PackageID)
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
		return meta.Chunk{}, err
	}
	return meta.Chunk{Key: sp.key, Raw: raw, Gz: gz.Bytes()}, nil
}

// layouts keeps, per index, which packages form its base: an index is
// its base, sorted, followed by the packages added since, sorted. Stanza
// order means nothing to apt, and so a push of new packages changes only
// the tail, and hashing the index resumes from the state saved at the end
// of the base instead of rereading it. Package IDs grow with every new
// package, so the base is "IDs up to n": one number per index. When the
// tail outgrows a tenth of the base, the next build makes everything base
// again. A restart forgets the layouts, which costs one full rebuild of
// each index's hash, not correctness: every publication stores the bytes
// it lists.
type layouts struct {
	mu   sync.Mutex
	base map[string]int64
}

func (l *layouts) init() { l.base = map[string]int64{} }

const layoutsMax = 1 << 16

func (l *layouts) order(index string, members []*meta.Entry) [][]*meta.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	limit, ok := l.base[index]
	var base, tail []*meta.Entry
	if ok {
		for _, e := range members {
			if e.PackageID <= limit {
				base = append(base, e)
			} else {
				tail = append(tail, e)
			}
		}
	}
	if !ok || len(tail) > 256+len(base)/10 {
		limit = 0
		for _, e := range members {
			limit = max(limit, e.PackageID)
		}
		if len(l.base) >= layoutsMax {
			clear(l.base)
		}
		l.base[index] = limit
		return [][]*meta.Entry{members}
	}
	return [][]*meta.Entry{base, tail}
}

// hashCache makes hashing an index file cost what changed: it keeps, for
// each file of each view, the SHA-256 state after every chunk, named by a
// hash chain over the chunk keys before it. A new build resumes from the
// last state whose chain still matches.
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

func (c *hashCache) sum(ctx context.Context, s *Service, file string, keys []string, gzip bool) (string, int64, error) {
	c.mu.Lock()
	prev := c.m[file]
	c.mu.Unlock()

	chains := make([][sha256.Size]byte, len(keys))
	var chain [sha256.Size]byte
	for i, k := range keys {
		chain = sha256.Sum256(append(chain[:], k...))
		chains[i] = chain
	}
	k := 0
	for k < len(prev) && k < len(keys) && prev[k].chain == chains[k] {
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
	data, err := s.chunkBytes(ctx, keys[k:], gzip)
	if err != nil {
		return "", 0, err
	}
	states := append(make([]midstate, 0, len(keys)), prev[:k]...)
	for i := k; i < len(keys); i++ {
		b := data[keys[i]]
		h.Write(b)
		size += int64(len(b))
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
