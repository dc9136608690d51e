// Package metatest is the conformance suite every meta.Store passes.
package metatest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/meta"
)

// Run runs the suite; newStore returns an empty store.
func Run(t *testing.T, newStore func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Projects", testProjects},
		{"Repositories", testRepositories},
		{"LinkAndConflict", testLinkAndConflict},
		{"LinkConcurrent", testLinkConcurrent},
		{"Sources", testSources},
		{"Log", testLog},
		{"Tokens", testTokens},
		{"Publish", testPublish},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

var ctx = context.Background()

func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Pkg makes a package whose bytes are named by seed.
func Pkg(seed, name, version, arch string) *meta.Package {
	sum := sha256.Sum256([]byte(seed))
	h := hex.EncodeToString(sum[:])
	return &meta.Package{SHA256: h, Size: int64(len(seed)), MD5: h[:32], SHA1: h[:40], SHA512: h + h, Format: "deb",
		Name: name, Version: version, Arch: arch, Filename: name + ".deb",
		Control: fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s", name, version, arch)}
}

func testProjects(t *testing.T, s meta.Store) {
	p := must(s.CreateProject(ctx, "server", "master"))(t)
	if p.ID == 0 || p.DefaultBranch != "master" {
		t.Fatalf("created %+v", p)
	}
	if _, err := s.CreateProject(ctx, "server", "main"); !errors.Is(err, meta.ErrExists) {
		t.Fatalf("duplicate project: %v", err)
	}
	must(s.CreateProject(ctx, "deps", "main"))(t)
	got := must(s.Project(ctx, "server"))(t)
	if got != p {
		t.Fatalf("Project = %+v, want %+v", got, p)
	}
	if _, err := s.Project(ctx, "nope"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("missing project: %v", err)
	}
	if ps := must(s.Projects(ctx))(t); len(ps) != 2 || ps[0].Name != "deps" {
		t.Fatalf("Projects = %+v", ps)
	}
}

func testRepositories(t *testing.T, s meta.Store) {
	must(s.CreateProject(ctx, "server", "master"))(t)
	must(s.CreateProject(ctx, "deps", "main"))(t)
	must(s.CreateRepository(ctx, "product", []string{"amd64", "arm64"}))(t)
	if _, err := s.CreateRepository(ctx, "product", nil); !errors.Is(err, meta.ErrExists) {
		t.Fatalf("duplicate repository: %v", err)
	}
	for _, p := range []string{"server", "deps", "server"} {
		if err := s.AddRepositoryProject(ctx, "product", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRepositoryProject(ctx, "product", "nope"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("missing project: %v", err)
	}
	r := must(s.Repository(ctx, "product"))(t)
	if fmt.Sprint(r.Projects) != "[deps server]" || fmt.Sprint(r.Architectures) != "[amd64 arm64]" {
		t.Fatalf("Repository = %+v", r)
	}
	must(s.CreateRepository(ctx, "empty", nil))(t)
	if rs := must(s.Repositories(ctx))(t); len(rs) != 2 || rs[0].Name != "empty" || len(rs[0].Projects) != 0 {
		t.Fatalf("Repositories = %+v", rs)
	}
}

func link(t *testing.T, s meta.Store, reqs ...meta.LinkRequest) []meta.LinkResult {
	t.Helper()
	return must(s.Link(ctx, reqs))(t)
}

func testLinkAndConflict(t *testing.T, s meta.Store) {
	p := must(s.CreateProject(ctx, "server", "master"))(t)
	a := Pkg("a", "hello", "1.0", "amd64")
	r := link(t, s, meta.LinkRequest{ProjectID: p.ID, Branch: "master", New: a})
	if r[0].Status != meta.Stored || r[0].Package.ID == 0 {
		t.Fatalf("first link: %+v", r[0])
	}
	r = link(t, s,
		meta.LinkRequest{ProjectID: p.ID, Branch: "master", SHA256: a.SHA256},
		meta.LinkRequest{ProjectID: p.ID, Branch: "feature/x", SHA256: a.SHA256},
		meta.LinkRequest{ProjectID: p.ID, Branch: "master", SHA256: Pkg("zz", "x", "1", "all").SHA256},
	)
	if r[0].Status != meta.Present || r[1].Status != meta.Linked || r[2].Status != meta.Missing {
		t.Fatalf("links: %+v", r)
	}
	// Same name, version and architecture, other bytes.
	b := Pkg("b", "hello", "1.0", "amd64")
	r = link(t, s, meta.LinkRequest{ProjectID: p.ID, Branch: "master", New: b})
	if r[0].Status != meta.Conflict || r[0].Existing == nil || r[0].Existing.SHA256 != a.SHA256 {
		t.Fatalf("conflict: %+v", r[0])
	}
	// The package was recorded, but not added to the branch.
	if pk := must(s.BranchPackages(ctx, p.ID, "master"))(t); len(pk) != 1 || pk[0].SHA256 != a.SHA256 {
		t.Fatalf("branch after conflict: %+v", pk)
	}
	r = link(t, s, meta.LinkRequest{ProjectID: p.ID, Branch: "master", SHA256: b.SHA256, Replace: true})
	if r[0].Status != meta.Linked {
		t.Fatalf("replace: %+v", r[0])
	}
	if pk := must(s.BranchPackages(ctx, p.ID, "master"))(t); len(pk) != 1 || pk[0].SHA256 != b.SHA256 {
		t.Fatalf("branch after replace: %+v", pk)
	}
	// Another version is not a conflict.
	link(t, s, meta.LinkRequest{ProjectID: p.ID, Branch: "master", New: Pkg("c", "hello", "1.1", "amd64")})
	if pk := must(s.BranchPackages(ctx, p.ID, "master"))(t); len(pk) != 2 {
		t.Fatalf("two versions: %+v", pk)
	}
	// Nor is the same name, version and architecture in another format.
	rpmPkg := Pkg("r", "hello", "1.1", "amd64")
	rpmPkg.Format = meta.FormatRPM
	if r := link(t, s, meta.LinkRequest{ProjectID: p.ID, Branch: "master", New: rpmPkg}); r[0].Status != meta.Stored {
		t.Fatalf("other format: %+v", r[0])
	}
	if pk := must(s.BranchPackages(ctx, p.ID, "master"))(t); len(pk) != 3 {
		t.Fatalf("two formats: %+v", pk)
	}
	formats := map[string]int{}
	for _, b := range must(s.Branches(ctx, p.ID))(t) {
		if b.Name == "master" {
			entries, _ := must2(t)(s.Entries(ctx, b.ID))
			for _, e := range entries {
				formats[e.Format]++
			}
		}
	}
	if formats[meta.FormatDeb] != 2 || formats[meta.FormatRPM] != 1 {
		t.Fatalf("entries by format: %v", formats)
	}
	if err := s.Unlink(ctx, p.ID, "master", rpmPkg.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlink(ctx, p.ID, "master", b.SHA256); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlink(ctx, p.ID, "master", b.SHA256); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("second unlink: %v", err)
	}
	got := must(s.PackageBySHA256(ctx, a.SHA256))(t)
	if got.Name != "hello" || got.Control != a.Control || got.SHA512 != a.SHA512 {
		t.Fatalf("PackageBySHA256 = %+v", got)
	}
	if ps := must(s.PackagesByID(ctx, []int64{got.ID}))(t); len(ps) != 1 || ps[0].SHA256 != a.SHA256 {
		t.Fatalf("PackagesByID = %+v", ps)
	}
	unknown := strings.Repeat("0", 64)
	if has := must(s.HasPackages(ctx, []string{a.SHA256, unknown, b.SHA256}))(t); len(has) != 2 || !has[a.SHA256] || !has[b.SHA256] {
		t.Fatalf("HasPackages = %v", has)
	}
	if has := must(s.HasPackages(ctx, nil))(t); len(has) != 0 {
		t.Fatalf("HasPackages(nil) = %v", has)
	}
	bs := must(s.Branches(ctx, p.ID))(t)
	if len(bs) != 2 || bs[0].Name != "feature/x" || bs[0].Packages != 1 || bs[1].Packages != 1 {
		t.Fatalf("Branches = %+v", bs)
	}
}

func testLinkConcurrent(t *testing.T, s meta.Store) {
	p := must(s.CreateProject(ctx, "server", "master"))(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half push the same bytes, half different ones.
			pk := Pkg(fmt.Sprint(i%8), fmt.Sprintf("p%d", i%8), "1", "amd64")
			if _, err := s.Link(ctx, []meta.LinkRequest{{ProjectID: p.ID, Branch: "b", New: pk}}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if pk := must(s.BranchPackages(ctx, p.ID, "b"))(t); len(pk) != 8 {
		t.Fatalf("got %d packages, want 8", len(pk))
	}
}

func testSources(t *testing.T, s meta.Store) {
	server := must(s.CreateProject(ctx, "server", "master"))(t)
	deps := must(s.CreateProject(ctx, "deps", "main"))(t)
	repo := must(s.CreateRepository(ctx, "product", nil))(t)
	noErr(t, s.AddRepositoryProject(ctx, "product", "server"))
	noErr(t, s.AddRepositoryProject(ctx, "product", "deps"))
	link(t, s,
		meta.LinkRequest{ProjectID: server.ID, Branch: "master", New: Pkg("1", "srv", "1", "amd64")},
		meta.LinkRequest{ProjectID: server.ID, Branch: "feature", New: Pkg("2", "srv", "2", "amd64")},
		meta.LinkRequest{ProjectID: deps.ID, Branch: "main", New: Pkg("3", "lib", "1", "amd64")},
	)
	src := must(s.Sources(ctx, repo.ID, "feature"))(t)
	if len(src) != 2 || src[0].Project != "deps" || src[0].DefaultBranch != "main" || src[0].Overlay != nil || src[0].Default == nil ||
		src[1].Overlay == nil || src[1].Default == nil || src[1].Overlay.Gen != 1 {
		t.Fatalf("Sources(feature) = %+v", src)
	}
	src = must(s.Sources(ctx, repo.ID, "master"))(t)
	if src[1].Overlay != nil || src[1].Default == nil {
		t.Fatalf("Sources(master): the default branch is no overlay: %+v", src[1])
	}
	es, gen := must2(t)(s.Entries(ctx, src[1].Default.ID))
	if len(es) != 1 || es[0].Name != "srv" || gen != 1 {
		t.Fatalf("Entries = %+v, %d", es, gen)
	}
}

func must2(t *testing.T) func([]meta.Entry, int64, error) ([]meta.Entry, int64) {
	return func(e []meta.Entry, g int64, err error) ([]meta.Entry, int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e, g
	}
}

func testLog(t *testing.T, s meta.Store) {
	p := must(s.CreateProject(ctx, "server", "master"))(t)
	a, b := Pkg("a", "a", "1", "amd64"), Pkg("b", "b", "1", "amd64")
	link(t, s, meta.LinkRequest{ProjectID: p.ID, Branch: "master", New: a}, meta.LinkRequest{ProjectID: p.ID, Branch: "master", New: b})
	noErr(t, s.Unlink(ctx, p.ID, "master", a.SHA256))
	bid := must(s.Branches(ctx, p.ID))(t)[0].ID
	log := must(s.Log(ctx, bid, 1))(t)
	if len(log) != 2 || log[0].Gen != 2 || !log[0].Added || log[0].Entry.Name != "b" || log[1].Added || log[1].Entry.Name != "a" {
		t.Fatalf("Log = %+v", log)
	}
	if l := must(s.Log(ctx, bid, 3))(t); len(l) != 0 {
		t.Fatalf("Log at head = %+v", l)
	}
}

func testTokens(t *testing.T, s meta.Store) {
	tok := must(s.CreateToken(ctx, meta.Token{Hash: "h1", Kind: meta.TokenUpload, Projects: []string{"server", "deps"}, Description: "ci"}))(t)
	if _, err := s.CreateToken(ctx, meta.Token{Hash: "h1", Kind: meta.TokenAdmin}); !errors.Is(err, meta.ErrExists) {
		t.Fatalf("duplicate hash: %v", err)
	}
	got := must(s.TokenByHash(ctx, "h1"))(t)
	if got.ID != tok.ID || got.Kind != meta.TokenUpload || fmt.Sprint(got.Projects) != "[deps server]" {
		t.Fatalf("TokenByHash = %+v", got)
	}
	if _, err := s.TokenByHash(ctx, "h2"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("missing token: %v", err)
	}
	noErr(t, s.DeleteToken(ctx, tok.ID))
	if ts := must(s.Tokens(ctx))(t); len(ts) != 0 {
		t.Fatalf("Tokens after delete = %+v", ts)
	}
}

func testPublish(t *testing.T, s meta.Store) {
	repo := must(s.CreateRepository(ctx, "product", nil))(t)
	if _, err := s.Publication(ctx, repo.ID, meta.FormatDeb, "main"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("no publication yet: %v", err)
	}
	never := time.Time{}
	now := time.Now().UTC().Truncate(time.Second)
	pub := meta.Publication{RepositoryID: repo.ID, Format: meta.FormatDeb, Suite: "main", Inputs: "x", Content: "c", Date: now, ValidUntil: now.Add(time.Hour),
		Files: map[string][]byte{"Release": []byte("r"), "InRelease": []byte("i"), "Release.gpg": {}}}
	c1 := meta.Chunk{Key: "c1", Raw: []byte("one\n"), Gz: []byte{1}}
	c2 := meta.Chunk{Key: "c2", Raw: []byte("two\n"), Gz: []byte{2}}
	f1 := meta.IndexFile{Path: "main/binary-amd64/Packages", SHA256: "s1", Size: 8, Chunks: []string{"c1", "c2"}}
	noErr(t, s.Publish(ctx, pub, []meta.IndexFile{f1}, []meta.Chunk{c1, c2}, never))
	got := must(s.Publication(ctx, repo.ID, meta.FormatDeb, "main"))(t)
	if got.Inputs != "x" || got.Content != "c" || !got.Date.Equal(now) || len(got.Files) != 3 || string(got.Files["Release"]) != "r" || string(got.Files["InRelease"]) != "i" ||
		got.Files["Release.gpg"] == nil || len(got.Files["Release.gpg"]) != 0 {
		t.Fatalf("Publication = %+v, want %+v", got, pub)
	}
	// Each format of a view is its own publication.
	if _, err := s.Publication(ctx, repo.ID, meta.FormatRPM, "main"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("rpm publication: %v", err)
	}
	rpmPub := pub
	rpmPub.Format, rpmPub.Files = meta.FormatRPM, map[string][]byte{"repodata/repomd.xml": []byte("<repomd/>")}
	noErr(t, s.Publish(ctx, rpmPub, []meta.IndexFile{f1}, nil, never))
	if got := must(s.Publication(ctx, repo.ID, meta.FormatRPM, "main"))(t); len(got.Files) != 1 || string(got.Files["repodata/repomd.xml"]) != "<repomd/>" {
		t.Fatalf("rpm publication = %+v", got)
	}
	if _, err := s.IndexFile(ctx, repo.ID, meta.FormatAPK, "main", "", "s1"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("index file of another format: %v", err)
	}
	// Date never goes backwards; it may stay (Release dates have seconds).
	older := pub
	older.Date = now.Add(-time.Second)
	if err := s.Publish(ctx, older, nil, nil, never); !errors.Is(err, meta.ErrConflict) {
		t.Fatalf("older date: %v", err)
	}
	// A publication's signed files are replaced, not merged.
	pub.Files = map[string][]byte{"Release": []byte("r2")}
	noErr(t, s.Publish(ctx, pub, nil, nil, never))
	if got := must(s.Publication(ctx, repo.ID, meta.FormatDeb, "main"))(t); len(got.Files) != 1 || string(got.Files["Release"]) != "r2" {
		t.Fatalf("republished files = %q", got.Files)
	}

	pub2 := pub
	pub2.Date, pub2.Inputs = now.Add(time.Second), "y"
	c3 := meta.Chunk{Key: "c3", Raw: []byte("three\n"), Gz: []byte{3}}
	f2 := meta.IndexFile{Path: f1.Path, SHA256: "s2", Size: 6, Gzip: true, Chunks: []string{"c3"}}
	// c1 again: a chunk that is stored already is kept as it is.
	noErr(t, s.Publish(ctx, pub2, []meta.IndexFile{f2}, []meta.Chunk{c3, {Key: "c1", Raw: []byte("other"), Gz: nil}}, never))
	cur := must(s.CurrentIndexFile(ctx, repo.ID, meta.FormatDeb, "main", f1.Path))(t)
	if cur.SHA256 != "s2" || !cur.Gzip {
		t.Fatalf("current = %+v", cur)
	}
	// The earlier file stays reachable by hash.
	old := must(s.IndexFile(ctx, repo.ID, meta.FormatDeb, "main", "", "s1"))(t)
	if fmt.Sprint(old.Chunks) != "[c1 c2]" || old.Size != 8 || old.Gzip {
		t.Fatalf("old = %+v", old)
	}
	if _, err := s.IndexFile(ctx, repo.ID, meta.FormatDeb, "main", "main/binary-arm64/", "s1"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("index file in another directory: %v", err)
	}
	// Two files may have the same bytes.
	twin := f1
	twin.Path = "main/binary-arm64/Packages"
	pubTwin := pub2
	noErr(t, s.Publish(ctx, pubTwin, []meta.IndexFile{f1, twin}, nil, never))
	for _, p := range []string{f1.Path, twin.Path} {
		if got := must(s.CurrentIndexFile(ctx, repo.ID, meta.FormatDeb, "main", p))(t); got.SHA256 != "s1" {
			t.Fatalf("twin %s = %+v", p, got)
		}
	}
	if _, err := s.IndexFile(ctx, repo.ID, meta.FormatDeb, "other", "", "s1"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("index file of another suite: %v", err)
	}
	has := must(s.HasChunks(ctx, []string{"c1", "c3", "nope"}))(t)
	if len(has) != 2 || !has["c1"] || !has["c3"] {
		t.Fatalf("HasChunks = %v", has)
	}
	raw := must(s.ChunkData(ctx, []string{"c1", "c2", "nope"}, false))(t)
	if len(raw) != 2 || string(raw["c1"]) != "one\n" || string(raw["c2"]) != "two\n" {
		t.Fatalf("ChunkData = %q", raw)
	}
	if gz := must(s.ChunkData(ctx, []string{"c3"}, true))(t); len(gz["c3"]) != 1 || gz["c3"][0] != 3 {
		t.Fatalf("ChunkData gzip = %v", gz)
	}
	// Files older than the prune time go, except those just published.
	pub3 := pub2
	pub3.Date = now.Add(2 * time.Second)
	noErr(t, s.Publish(ctx, pub3, []meta.IndexFile{f2}, nil, time.Now()))
	if _, err := s.IndexFile(ctx, repo.ID, meta.FormatDeb, "main", "", "s1"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("pruned file: %v", err)
	}
	must(s.IndexFile(ctx, repo.ID, meta.FormatDeb, "main", "main/", "s2"))(t)
}
