package service

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

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
	// A layout's tail is cut finer (see layouts): new packages are
	// appended there, and the chunk they join is made and hashed again
	// by every push.
	tailEvery = 16
	tailMax   = 64
)

// A publisher makes one format's indexes of a view and signs them.
type publisher struct {
	format string // meta.Format*
	// version names how the indexes are written. It is part of every
	// publication's inputs and every chunk's key: changing how an index
	// is written must change it, so that views are published again and
	// old chunks are not reused.
	version string
	// index makes the index files of b.entries.
	index func(s *Service, ctx context.Context, b *build) error
	// sign makes the publication's signed files, dated b.date.
	sign func(s *Service, ctx context.Context, b *build) error
}

// build is one publication being made.
type build struct {
	version string // the publisher's
	repo    meta.Repository
	suite   string
	// entries are the view's packages of the publisher's format, sorted.
	entries          []*meta.Entry
	date, validUntil time.Time

	// Made by index:
	archs  []string // the architectures indexed, in order
	files  []meta.IndexFile
	chunks []meta.Chunk
	// open are the uncompressed sums of files, where a format lists them.
	open []openSum
	// sums are the checksums being computed in the background; files and
	// open are complete once waitSums returns.
	sums   []*sumJob
	sumsWG sync.WaitGroup
	// guesses are index files as the next build would make them (guess).
	guesses []guess
	// Made by sign:
	signed map[string][]byte
}

// Published is the signed state of one view in one format, and the
// repository it is of.
type Published struct {
	Repository  meta.Repository
	Publication meta.Publication
}

// current returns the publication of a repository at a branch in one
// format, publishing first if the view changed since, or if its
// signatures are close to expiring. Index builds of one view are
// serialised; a build changes only the chunks whose packages changed.
func (s *Service) current(ctx context.Context, pb *publisher, repoName, suite string) (Published, error) {
	repo, err := s.viewRepository(ctx, repoName, suite)
	if err != nil {
		return Published{}, err
	}
	return s.currentOf(ctx, pb, repo, suite)
}

// currentOf is current, for a repository already found.
func (s *Service) currentOf(ctx context.Context, pb *publisher, repo meta.Repository, suite string) (Published, error) {
	sources, err := s.meta.Sources(ctx, repo.ID, suite)
	if err != nil {
		return Published{}, err
	}
	if !hasBranch(sources, suite) {
		return Published{}, fmt.Errorf("no project of repository %q has a branch %q: %w", repo.Name, suite, ErrNotFound)
	}
	inputs := inputsKey(pb, repo, sources)
	pub, err := s.meta.Publication(ctx, repo.ID, pb.format, suite)
	if err == nil && s.fresh(pub, inputs) {
		return Published{repo, pub}, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return Published{}, err
	}

	mu, _ := s.publishing.LoadOrStore(fmt.Sprint(repo.ID, "/", pb.format, "/", suite), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	// Someone may have published while this call waited for the lock.
	pub, err = s.meta.Publication(ctx, repo.ID, pb.format, suite)
	if err == nil && s.fresh(pub, inputs) {
		return Published{repo, pub}, nil
	}
	prev := pub
	if err != nil {
		prev = meta.Publication{}
	}
	pub, err = s.publish(ctx, pb, repo, suite, sources, prev)
	if errors.Is(err, meta.ErrConflict) {
		// Another server published a newer one.
		pub, err = s.meta.Publication(ctx, repo.ID, pb.format, suite)
	}
	return Published{repo, pub}, err
}

// viewRepository checks a view's names and returns its repository.
func (s *Service) viewRepository(ctx context.Context, repoName, suite string) (meta.Repository, error) {
	if err := ValidName("repository", repoName); err != nil {
		return meta.Repository{}, err
	}
	if err := ValidBranch(suite); err != nil {
		return meta.Repository{}, err
	}
	return s.meta.Repository(ctx, repoName)
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
	return p.Inputs == inputs && !s.expiring(p)
}

// expiring reports whether a publication's signatures are close enough
// to their end to be made again.
func (s *Service) expiring(p meta.Publication) bool {
	return !s.cfg.Now().Before(p.ValidUntil.Add(-s.cfg.ReleaseValidity / 4))
}

// inputsKey names what a view's indexes are made from.
func inputsKey(pb *publisher, repo meta.Repository, sources []meta.Source) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\narchs %s\n", pb.version, strings.Join(repo.Architectures, " "))
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

// contentKey names the bytes of a publication's index files.
func contentKey(pb *publisher, files []meta.IndexFile) string {
	lines := make([]string, len(files))
	for i, f := range files {
		lines[i] = f.Path + " " + f.SHA256
	}
	sort.Strings(lines)
	h := sha256.New()
	fmt.Fprintln(h, pb.version)
	for _, l := range lines {
		fmt.Fprintln(h, l)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// view resolves the packages a view shows, from the branches' sets. The
// sets may be newer than sources; the returned sources name what was
// really used, so that the next read finds the publication current.
func (s *Service) view(ctx context.Context, sources []meta.Source) (view.View, []meta.Source, error) {
	layers := make([]view.Layer, len(sources))
	used := slices.Clone(sources)
	for i, src := range sources {
		var err error
		var gen int64
		if layers[i].Default, gen, err = s.sets.get(ctx, s.meta, src.Default); err != nil {
			return nil, nil, err
		}
		if src.Default != nil {
			used[i].Default = &meta.BranchRef{ID: src.Default.ID, Gen: gen}
		}
		if layers[i].Overlay, gen, err = s.sets.get(ctx, s.meta, src.Overlay); err != nil {
			return nil, nil, err
		}
		if src.Overlay != nil {
			used[i].Overlay = &meta.BranchRef{ID: src.Overlay.ID, Gen: gen}
		}
	}
	return view.Resolve(layers), used, nil
}

// ofFormat lists a view's packages of one format, in order.
func ofFormat(v view.View, format string) []*meta.Entry {
	var out []*meta.Entry
	for e := range v.All() {
		if e.Format == format {
			out = append(out, e)
		}
	}
	return out
}

func (s *Service) publish(ctx context.Context, pb *publisher, repo meta.Repository, suite string, sources []meta.Source, prev meta.Publication) (meta.Publication, error) {
	start := time.Now()
	v, used, err := s.view(ctx, sources)
	if err != nil {
		return meta.Publication{}, err
	}
	// Dates never go backwards, even if the clock does; they have whole
	// seconds, so two publications may share one.
	now := s.cfg.Now().UTC().Truncate(time.Second)
	b := &build{version: pb.version, repo: repo, suite: suite, entries: ofFormat(v, pb.format), date: now, validUntil: now.Add(s.cfg.ReleaseValidity)}
	if prev.Date.After(b.date) {
		b.date = prev.Date
	}
	err = pb.index(s, ctx, b)
	if serr := b.waitSums(); err == nil {
		err = serr
	}
	if err != nil {
		return meta.Publication{}, err
	}
	pub := meta.Publication{RepositoryID: repo.ID, Format: pb.format, Suite: suite, Inputs: inputsKey(pb, repo, used),
		Content: contentKey(pb, b.files)}
	if pub.Content == prev.Content && !s.expiring(prev) {
		// Other formats' packages changed, or nothing did: the signed
		// files stay as they are, and clients see no new date.
		pub.Date, pub.ValidUntil, pub.Files = prev.Date, prev.ValidUntil, prev.Files
	} else {
		if err := pb.sign(s, ctx, b); err != nil {
			return meta.Publication{}, err
		}
		pub.Date, pub.ValidUntil, pub.Files = b.date, b.validUntil, b.signed
	}
	if err := s.meta.Publish(ctx, pub, b.files, storedChunks(b.chunks), s.cfg.Now().Add(-s.cfg.IndexGrace)); err != nil {
		return meta.Publication{}, err
	}
	if gen := s.guessed.put(b); gen != 0 {
		s.guessSoon(b.suite, gen)
	}
	s.log.Info("published", "repository", repo.Name, "format", pb.format, "suite", suite, "packages", len(b.entries),
		"chunks_made", len(b.chunks), "seconds", time.Since(start).Seconds())
	return pub, nil
}

// chunkKind is one text an index has per package: apt's stanza, rpm-md's
// primary element, a pacman database's tar entries. Each kind's chunks
// are cut at the same packages.
type chunkKind struct {
	name string // with the publisher's version, names the chunks' text
	// append appends the package's text; decoded is what the publisher's
	// decode returned for it.
	append func(b []byte, p *meta.Package, decoded any) ([]byte, error)
}

// chunkSpec is one run of packages of an index.
type chunkSpec struct {
	id      [sha256.Size]byte // over the member packages' IDs
	members []*meta.Entry
}

func (sp *chunkSpec) key(version string, k *chunkKind) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", version, k.name)
	h.Write(sp.id[:])
	return hex.EncodeToString(h.Sum(nil))
}

// cutChunks cuts a run of an index into chunks of about every packages
// and at most most. An empty index is one empty chunk, so that Packages.gz
// is still a valid gzip file; an empty run after the first adds nothing.
func cutChunks(members []*meta.Entry, every, most int) []chunkSpec {
	var out []chunkSpec
	start := 0
	h := sha256.New()
	// A chunk is named by its packages' IDs, which name their bytes as
	// well as their SHA-256s do (a stored package never changes) in an
	// eighth of the bytes: every build names every chunk, 100,000 IDs at
	// 100,000 packages.
	var id [8]byte
	for i, e := range members {
		if i == start {
			h.Reset()
		}
		binary.LittleEndian.PutUint64(id[:], uint64(e.PackageID))
		h.Write(id[:])
		if i+1-start >= most || cutAfter(e.SHA256, every) || i == len(members)-1 {
			sp := chunkSpec{members: members[start : i+1]}
			h.Sum(sp.id[:0])
			out = append(out, sp)
			start = i + 1
		}
	}
	if len(out) == 0 {
		out = append(out, chunkSpec{id: sha256.Sum256(nil)})
	}
	return out
}

func cutAfter(sha string, every int) bool {
	var b [2]byte
	if len(sha) < 4 {
		return false
	}
	hex.Decode(b[:], []byte(sha[:4]))
	return (int(b[0])<<8|int(b[1]))%every == 0
}

// buildChunks returns, for each kind, the chunk keys of an index laid out
// in runs (a base, then a tail cut finer); it adds to b the chunks that no
// view had made before. decode, if set, turns a package's stored
// metadata into what the kinds' append functions take, once per package.
func (s *Service) buildChunks(ctx context.Context, b *build, runs [][]*meta.Entry, kinds []chunkKind, decode func(*meta.Package) (any, error)) ([][]string, error) {
	var specs []chunkSpec
	for i, run := range runs {
		if len(run) > 0 {
			every, most := chunkEvery, chunkMax
			if i > 0 {
				every, most = tailEvery, tailMax
			}
			specs = append(specs, cutChunks(run, every, most)...)
		}
	}
	if len(specs) == 0 {
		specs = cutChunks(nil, chunkEvery, chunkMax)
	}
	keys := make([][]string, len(kinds))
	for k := range kinds {
		keys[k] = make([]string, len(specs))
	}
	var unknown []string
	for i := range specs {
		for k := range kinds {
			key := specs[i].key(b.version, &kinds[k])
			keys[k][i] = key
			if _, ok := s.chunks.get(key); !ok {
				unknown = append(unknown, key)
			}
		}
	}
	if len(unknown) == 0 {
		return keys, nil
	}
	stored, err := s.meta.HasChunks(ctx, unknown)
	if err != nil {
		return nil, err
	}
	var build []int
	for i := range specs {
		for k := range kinds {
			if _, ok := s.chunks.get(keys[k][i]); !ok && !stored[keys[k][i]] {
				build = append(build, i)
				break
			}
		}
	}
	if len(build) == 0 {
		return keys, nil
	}

	// Chunks are independent: read their packages and make and compress
	// them on every core, so that reading one chunk's packages overlaps
	// making another's.
	made := make([][]meta.Chunk, len(build))
	errs := make([]error, len(build))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				i := build[j]
				made[j], errs[j] = s.makeChunks(ctx, specs[i].members, kinds, decode)
				for k := range made[j] {
					made[j][k].Key = keys[k][i]
				}
			}
		}()
	}
	for j := range build {
		next <- j
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, cs := range made {
		for _, c := range cs {
			s.chunks.put(c.Key, c.Raw, c.Gz)
			b.chunks = append(b.chunks, c)
		}
	}
	return keys, nil
}

// makeChunks makes one chunk of each kind for members, keys left empty.
func (s *Service) makeChunks(ctx context.Context, members []*meta.Entry, kinds []chunkKind, decode func(*meta.Package) (any, error)) ([]meta.Chunk, error) {
	s.rendered.Add(int64(len(members)))
	pkgs, err := s.entryPackages(ctx, members)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*meta.Package, len(pkgs))
	for i := range pkgs {
		byID[pkgs[i].ID] = &pkgs[i]
	}
	raws := make([][]byte, len(kinds))
	for k := range raws {
		raws[k] = []byte{} // not nil: the cache takes nil for "not loaded"
	}
	for _, e := range members {
		p, ok := byID[e.PackageID]
		if !ok {
			return nil, fmt.Errorf("package %d of an index is not stored", e.PackageID)
		}
		var decoded any
		if decode != nil {
			var err error
			if decoded, err = decode(p); err != nil {
				return nil, fmt.Errorf("package %s: %w", p.SHA256, err)
			}
		}
		for k := range kinds {
			var err error
			if raws[k], err = kinds[k].append(raws[k], p, decoded); err != nil {
				return nil, fmt.Errorf("package %s: %w", p.SHA256, err)
			}
		}
	}
	out := make([]meta.Chunk, len(kinds))
	for k, raw := range raws {
		gz, err := gzipMember(raw)
		if err != nil {
			return nil, err
		}
		out[k] = meta.Chunk{Raw: raw, Gz: gz}
	}
	return out, nil
}

// entryPackages reads the stored packages of entries.
func (s *Service) entryPackages(ctx context.Context, entries []*meta.Entry) ([]meta.Package, error) {
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.PackageID
	}
	return s.meta.PackagesByID(ctx, ids)
}

// storedChunks is what of chunks the database keeps: only the gzip member
// of a chunk that has one. Plain text is about nine tenths of an index's
// bytes, and writing it too doubled the time a publication of 2,000 rpms
// spent in the database; it is rarely read back (the plain files served
// are few, and come from memory), and then made again from the member.
func storedChunks(chunks []meta.Chunk) []meta.Chunk {
	out := make([]meta.Chunk, len(chunks))
	for i, c := range chunks {
		if len(c.Gz) > 0 {
			c.Raw = nil
		}
		out[i] = c
	}
	return out
}

// gzipWriters are reused: a gzip writer's state is about a megabyte,
// more than most chunks, and allocating it per chunk cost more than
// compressing the chunk.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return zw
}}

func gzipMember(raw []byte) ([]byte, error) {
	var gz bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&gz)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

// fixedChunk stores text that is not made of packages, such as an XML
// document's head, as a chunk of its own, and returns its key. Without
// compress, the chunk has no gzip member: for a file served as it is.
func (s *Service) fixedChunk(b *build, raw []byte, compress bool) (string, error) {
	key := fixedKey(raw, compress)
	for _, c := range b.chunks {
		if c.Key == key {
			return key, nil
		}
	}
	raw, gz, err := s.memFixed(key, raw, compress)
	if err != nil {
		return "", err
	}
	// Stored with the publication; a chunk stored already is kept.
	b.chunks = append(b.chunks, meta.Chunk{Key: key, Raw: raw, Gz: gz})
	return key, nil
}

func fixedKey(raw []byte, compress bool) string {
	sum := sha256.Sum256(raw)
	if compress {
		return "fixed-" + hex.EncodeToString(sum[:])
	}
	return "whole-" + hex.EncodeToString(sum[:])
}

// memFixed puts a fixed chunk in memory, compressed if asked, and returns
// its bytes. The head of an rpm-md document changes with every package
// count, and its foot never: both are usually in memory already,
// compressed (guessFor puts the next head there).
func (s *Service) memFixed(key string, raw []byte, compress bool) ([]byte, []byte, error) {
	if raw == nil {
		raw = []byte{} // not nil: the cache takes nil for "not loaded"
	}
	var gz []byte
	if e, ok := s.chunks.get(key); ok && (e.gz != nil || !compress) {
		gz = e.gz
	} else if compress {
		var err error
		if gz, err = gzipMember(raw); err != nil {
			return nil, nil, err
		}
	}
	s.chunks.put(key, raw, gz)
	return raw, gz, nil
}

// A guess is an index file as the next build of its view will make it if
// that build adds one package and changes nothing else: a new first chunk
// (an rpm-md document's head counts the packages), then this build's
// chunks, of which all but the last stay (see layouts). A new head means
// hashing the whole document again, 3 MB at 2,000 rpms; hashed before the
// push that changes the view arrives, or while it is received (guessBook),
// the guess lets its build, when it comes true, hash only its last chunks.
type guess struct {
	name string // as sumLater names the file
	head []byte // the text of the first chunk
	keys []string
	gzip bool
}

// guessBook keeps each view's latest guesses until they are hashed: once
// the branch's views have had no new build for Config.GuessDelay (a bulk
// push builds them again and again, and each guess would be wasted), or
// when a push to the branch starts, whichever comes first. Hashed early,
// a guess is ready when the push's build begins: at 20,000 rpms it is
// 30 MB, longer to hash than a small push takes to arrive.
type guessBook struct {
	mu      sync.Mutex
	bySuite map[string]map[string][]guess // suite → b.fileName("") → guesses
	// gen counts each suite's puts, so that only the latest build's
	// timer hashes (guessSoon).
	gen  map[string]uint64
	next uint64
}

const guessBookMax = 4096

// put keeps b's guesses and returns their generation, or 0 if b has none.
func (g *guessBook) put(b *build) uint64 {
	if len(b.guesses) == 0 {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bySuite == nil || len(g.bySuite) >= guessBookMax {
		g.bySuite, g.gen = map[string]map[string][]guess{}, map[string]uint64{}
	}
	views := g.bySuite[b.suite]
	if views == nil {
		views = map[string][]guess{}
		g.bySuite[b.suite] = views
	}
	views[b.fileName("")] = b.guesses
	g.next++
	g.gen[b.suite] = g.next
	return g.next
}

// latest reports whether gen is still the suite's latest put.
func (g *guessBook) latest(suite string, gen uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen[suite] == gen
}

func (g *guessBook) take(suite string) map[string][]guess {
	g.mu.Lock()
	defer g.mu.Unlock()
	views := g.bySuite[suite]
	delete(g.bySuite, suite)
	delete(g.gen, suite)
	return views
}

// guessSoon hashes a branch's guesses once Config.GuessDelay has passed,
// unless a newer build of one of its views put its own by then.
func (s *Service) guessSoon(suite string, gen uint64) {
	if s.cfg.GuessDelay < 0 {
		return
	}
	s.warm.spawn(func(context.Context) {
		select {
		case <-time.After(s.cfg.GuessDelay):
		case <-s.closing:
			return
		}
		if s.guessed.latest(suite, gen) {
			s.guessFor(suite)
		}
	})
}

// guessFor hashes, in the background, the guesses of the views of a
// branch, on every core but one, which is left to the push being received
// or the clients fetching the last build. A build that needs a file being
// guessed waits for the guess rather than hash the same bytes beside it.
// One branch's guesses are hashed at a time, server-wide; those that find
// another's being hashed are dropped (the builds hash all they need
// themselves).
func (s *Service) guessFor(branch string) {
	views := s.guessed.take(branch)
	if len(views) == 0 {
		return
	}
	select {
	case s.guessing <- struct{}{}:
	default:
		return
	}
	type job struct {
		file   string
		g      guess
		finish func()
	}
	var jobs []job
	for prefix, guesses := range views {
		for _, g := range guesses {
			file := prefix + g.name
			jobs = append(jobs, job{file, g, s.hashes.guessing(file)})
		}
	}
	started := s.warm.spawn(func(ctx context.Context) {
		defer func() { <-s.guessing }()
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Go(func() {
				defer j.finish()
				s.guessSlots <- struct{}{}
				defer func() { <-s.guessSlots }()
				key := fixedKey(j.g.head, true)
				_, _, err := s.memFixed(key, j.g.head, true)
				if err == nil {
					err = s.hashes.guess(ctx, s, j.file, append([]string{key}, j.g.keys...), j.g.gzip)
				}
				if err != nil {
					s.log.Debug("hashing the next build's index", "file", j.file, "err", err)
				}
			})
		}
		wg.Wait()
	})
	if !started {
		for _, j := range jobs {
			j.finish()
		}
		<-s.guessing
	}
}

// fileBytes returns the bytes of an index file of b.
func (s *Service) fileBytes(ctx context.Context, b *build, f *meta.IndexFile) ([]byte, error) {
	var out []byte
	err := s.writeFile(ctx, b, f, writerFunc(func(p []byte) (int, error) {
		out = append(out, p...)
		return len(p), nil
	}))
	return out, err
}

// writeFile writes an index file of b: its chunks, from b's new ones,
// memory or the database.
func (s *Service) writeFile(ctx context.Context, b *build, f *meta.IndexFile, w io.Writer) error {
	made := map[string][]byte{}
	for _, c := range b.chunks {
		if f.Gzip {
			made[c.Key] = c.Gz
		} else {
			made[c.Key] = c.Raw
		}
	}
	keys := f.Chunks
	for len(keys) > 0 {
		n := min(len(keys), 64)
		var missing []string
		for _, k := range keys[:n] {
			if _, ok := made[k]; !ok {
				missing = append(missing, k)
			}
		}
		data, err := s.chunkBytes(ctx, missing, f.Gzip)
		if err != nil {
			return err
		}
		for _, k := range keys[:n] {
			d, ok := made[k]
			if !ok {
				d = data[k]
			}
			if _, err := w.Write(d); err != nil {
				return err
			}
		}
		keys = keys[n:]
	}
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// addFile adds an index file made of chunks to b. Its checksum and size
// are computed in the background (waitSums waits for them): a file whose
// first chunk changed, such as an rpm-md document whose head counts the
// packages, is hashed again whole, and the files of a build are hashed
// on every core at once.
func (s *Service) addFile(ctx context.Context, b *build, path string, keys []string, gzip bool) {
	i := len(b.files)
	b.files = append(b.files, meta.IndexFile{Path: path, Chunks: keys, Gzip: gzip})
	s.sumLater(ctx, b, path, keys, gzip, func(h hash.Hash, size int64) {
		b.files[i].SHA256, b.files[i].Size = hex.EncodeToString(h.Sum(nil)), size
	})
}

// A sumJob is one checksum of a build being computed.
type sumJob struct {
	h    hash.Hash
	size int64
	err  error
	// then takes the result, in waitSums.
	then func(h hash.Hash, size int64)
}

// sumLater computes the SHA-256 and size of the bytes of keys, plain or
// gzip, in the background, and passes them to then once waitSums is
// called. name tells the hash cache which file of b it is.
func (s *Service) sumLater(ctx context.Context, b *build, name string, keys []string, gzip bool, then func(h hash.Hash, size int64)) {
	j := &sumJob{then: then}
	b.sums = append(b.sums, j)
	b.sumsWG.Add(1)
	go func() {
		defer b.sumsWG.Done()
		file := b.fileName(name)
		// Before taking a slot: the guess may need one.
		if j.err = s.hashes.awaitGuess(ctx, file); j.err != nil {
			return
		}
		s.sumSlots <- struct{}{}
		defer func() { <-s.sumSlots }()
		j.h, j.size, j.err = s.hashes.sum(ctx, s, file, keys, gzip)
	}()
}

// fileName names an index file of b in the hash cache: the same path in
// another view or written another way is another file.
func (b *build) fileName(path string) string {
	return fmt.Sprint(b.repo.ID, "/", b.version, "/", b.suite, "/", path)
}

// waitSums waits for the build's checksums and fills them in.
func (b *build) waitSums() error {
	b.sumsWG.Wait()
	sums := b.sums
	b.sums = nil
	for _, j := range sums {
		if j.err != nil {
			return j.err
		}
		j.then(j.h, j.size)
	}
	return nil
}

// layouts keeps, per index, which packages form its base: an index is
// its base, sorted, followed by the packages added since, in the order
// they were stored. Package order means nothing to apt, dnf or pacman, and
// so a push of new packages changes only the end of the index: the tail's
// last chunk is made again, and hashing the index resumes from the state
// saved before it instead of rereading the rest. Package IDs grow with
// every new package, so the base is "IDs up to n": one number per index,
// and the tail is in ID order. When the tail outgrows a tenth of the base,
// the next build makes everything base again. A restart forgets the
// layouts, which costs one full rebuild of each index's hash, not
// correctness: every publication stores the bytes it lists.
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
	slices.SortStableFunc(tail, func(a, b *meta.Entry) int { return cmp.Compare(a.PackageID, b.PackageID) })
	return [][]*meta.Entry{base, tail}
}

// hashCache makes hashing an index file cost what changed: it keeps, for
// each file of each view, the SHA-256 state after every chunk, named by a
// hash chain over the chunk keys before it. A new build resumes from the
// last state whose chain still matches.
type hashCache struct {
	mu sync.Mutex
	m  map[string][]midstate
	// guessed has, for some files, the states of the next build's bytes
	// as guessFor guessed them; the build uses whichever matches more.
	guessed map[string][]midstate
	// pending has the files whose guess is being hashed, each with a
	// channel closed when it is done.
	pending map[string]chan struct{}
	// hashed counts the bytes builds hashed, guesses apart.
	hashed atomic.Int64
}

type midstate struct {
	chain [sha256.Size]byte
	state []byte
	size  int64
}

const hashCacheMax = 4096

func (c *hashCache) init() {
	c.m, c.guessed, c.pending = map[string][]midstate{}, map[string][]midstate{}, map[string]chan struct{}{}
}

// guessing records that file's guess is being hashed; finish says it is
// done.
func (c *hashCache) guessing(file string) (finish func()) {
	done := make(chan struct{})
	c.mu.Lock()
	c.pending[file] = done
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		if c.pending[file] == done {
			delete(c.pending, file)
		}
		c.mu.Unlock()
		close(done)
	}
}

// awaitGuess waits until no guess of file is being hashed.
func (c *hashCache) awaitGuess(ctx context.Context, file string) error {
	c.mu.Lock()
	done := c.pending[file]
	c.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sum returns the SHA-256 state after the file's bytes, and its size.
func (c *hashCache) sum(ctx context.Context, s *Service, file string, keys []string, gzip bool) (hash.Hash, int64, error) {
	c.mu.Lock()
	prev, guessed := c.m[file], c.guessed[file]
	delete(c.guessed, file)
	c.mu.Unlock()
	chains := hashChains(keys)
	k := matched(prev, chains)
	if kg := matched(guessed, chains); kg > k {
		prev, k = guessed, kg
	}
	h, size, states, err := hashStates(ctx, s, prev[:k], keys, chains, gzip)
	if err != nil {
		return nil, 0, err
	}
	if k > 0 {
		c.hashed.Add(size - prev[k-1].size)
	} else {
		c.hashed.Add(size)
	}
	c.mu.Lock()
	if len(c.m) >= hashCacheMax {
		clear(c.m)
	}
	c.m[file] = states
	c.mu.Unlock()
	return h, size, nil
}

// guess hashes the bytes of keys, which the next build of file is
// guessed to have, and keeps the states for that build.
func (c *hashCache) guess(ctx context.Context, s *Service, file string, keys []string, gzip bool) error {
	_, _, states, err := hashStates(ctx, s, nil, keys, hashChains(keys), gzip)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if len(c.guessed) >= hashCacheMax {
		clear(c.guessed)
	}
	c.guessed[file] = states
	c.mu.Unlock()
	return nil
}

// hashChains names each prefix of keys: a hash chain over them.
func hashChains(keys []string) [][sha256.Size]byte {
	chains := make([][sha256.Size]byte, len(keys))
	var chain [sha256.Size]byte
	for i, k := range keys {
		chain = sha256.Sum256(append(chain[:], k...))
		chains[i] = chain
	}
	return chains
}

// matched counts the leading states of prev that chains still name.
func matched(prev []midstate, chains [][sha256.Size]byte) int {
	k := 0
	for k < len(prev) && k < len(chains) && prev[k].chain == chains[k] {
		k++
	}
	return k
}

// hashStates hashes the bytes of keys, resuming after done, the states of
// their first chunks, and returns the final state, the size, and the
// state after each chunk.
func hashStates(ctx context.Context, s *Service, done []midstate, keys []string, chains [][sha256.Size]byte, gzip bool) (hash.Hash, int64, []midstate, error) {
	k := len(done)
	h := sha256.New()
	var size int64
	if k > 0 {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(done[k-1].state); err != nil {
			return nil, 0, nil, err
		}
		size = done[k-1].size
	}
	data, err := s.chunkBytes(ctx, keys[k:], gzip)
	if err != nil {
		return nil, 0, nil, err
	}
	states := append(make([]midstate, 0, len(keys)), done...)
	for i := k; i < len(keys); i++ {
		b := data[keys[i]]
		h.Write(b)
		size += int64(len(b))
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, 0, nil, err
		}
		states = append(states, midstate{chain: chains[i], state: st, size: size})
	}
	return h, size, states, nil
}
