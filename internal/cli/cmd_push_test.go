package cli

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer implements the push protocol of docs/api.md in memory. A
// "package" is any file whose first line is "name version architecture".
// It counts the body bytes it receives, so that a test can show what was
// not sent.
type fakeServer struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	bodyBytes atomic.Int64 // bytes of PUT bodies read

	mu       sync.Mutex
	blobs    map[string]fakePkg           // sha256 → package
	branches map[string]map[string]string // "project/branch" → "name version arch" → sha256
	bodyPuts map[string]int               // sha256 → PUTs with a body
	checks   int                          // batch requests
	// inject, when set, may answer a body PUT instead of the server; the
	// attempt counts from 1 per SHA-256.
	inject func(w http.ResponseWriter, sha string, attempt int) bool
}

type fakePkg struct {
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	Format       string `json:"format"`
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
}

func (p fakePkg) id() string { return p.Name + " " + p.Version + " " + p.Architecture }

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{
		t:        t,
		token:    "upload-token",
		blobs:    map[string]fakePkg{},
		branches: map[string]map[string]string{},
		bodyPuts: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/projects/{project}/push", f.check)
	mux.HandleFunc("PUT /api/v1/projects/{project}/push", f.put)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func parseFakePkg(data []byte) (fakePkg, bool) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) != 3 {
		return fakePkg{}, false
	}
	sum := sha256.Sum256(data)
	return fakePkg{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Format: "deb", Name: f[0], Version: f[1], Architecture: f[2]}, true
}

// hold stores a package as if an earlier push had sent it.
func (f *fakeServer) hold(data string) {
	p, ok := parseFakePkg([]byte(data))
	if !ok {
		f.t.Fatalf("not a fake package: %q", data)
	}
	f.mu.Lock()
	f.blobs[p.SHA256] = p
	f.mu.Unlock()
}

// preload stores a package and adds it to a branch.
func (f *fakeServer) preload(project, branch, data string) {
	f.hold(data)
	p, _ := parseFakePkg([]byte(data))
	f.mu.Lock()
	f.linkLocked(project, branch, p, false)
	f.mu.Unlock()
}

// linkLocked adds a held package to a branch: "linked", "exists", or
// "conflict" when the branch holds another file of the same name, version
// and architecture.
func (f *fakeServer) linkLocked(project, branch string, p fakePkg, replace bool) string {
	key := project + "/" + branch
	b := f.branches[key]
	if b == nil {
		b = map[string]string{}
		f.branches[key] = b
	}
	switch old, ok := b[p.id()]; {
	case ok && old == p.SHA256:
		return "exists"
	case ok && !replace:
		return "conflict"
	}
	b[p.id()] = p.SHA256
	return "linked"
}

func (f *fakeServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		apiError(w, 401, "unauthorized", "no token, or a token that is not known")
		return false
	}
	if r.URL.Query().Get("branch") == "" {
		apiError(w, 400, "invalid_request", "branch is required")
		return false
	}
	return true
}

func (f *fakeServer) check(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	var req struct {
		Packages []struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		} `json:"packages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Packages) > 10000 {
		apiError(w, 400, "invalid_request", "bad batch")
		return
	}
	project, branch, replace := r.PathValue("project"), r.URL.Query().Get("branch"), r.URL.Query().Get("replace") == "true"
	type result struct {
		SHA256  string            `json:"sha256"`
		Status  string            `json:"status"`
		Package *fakePkg          `json:"package,omitempty"`
		Error   map[string]string `json:"error,omitempty"`
	}
	var out struct {
		Results []result `json:"results"`
	}
	f.mu.Lock()
	f.checks++
	for _, e := range req.Packages {
		p, ok := f.blobs[e.SHA256]
		switch {
		case !ok:
			out.Results = append(out.Results, result{SHA256: e.SHA256, Status: "missing"})
		default:
			st := f.linkLocked(project, branch, p, replace)
			if st == "conflict" {
				out.Results = append(out.Results, result{SHA256: e.SHA256, Status: "error",
					Error: map[string]string{"code": "conflict", "message": "the branch already holds another " + p.id()}})
				continue
			}
			out.Results = append(out.Results, result{SHA256: e.SHA256, Status: st, Package: &p})
		}
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(out)
}

func (f *fakeServer) put(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	project, branch, replace := r.PathValue("project"), r.URL.Query().Get("branch"), r.URL.Query().Get("replace") == "true"
	if r.Header.Get("Content-Type") == "application/x-tar" {
		f.putMany(w, r, project, branch, replace)
		return
	}
	claimed := r.Header.Get("X-Checksum-Sha256")
	if r.Header.Get("X-Checksum-Deploy") == "true" {
		f.mu.Lock()
		held, ok := f.blobs[claimed]
		f.mu.Unlock()
		if !ok {
			apiError(w, 404, "blob_unknown", "send the body")
			return
		}
		f.answer(w, f.link(project, branch, replace, held, "linked"))
		return
	}
	if r.ContentLength < 0 {
		apiError(w, 411, "length_required", "Content-Length is required")
		return
	}
	if f.injected(w, claimed) {
		return
	}
	data, err := io.ReadAll(r.Body)
	f.bodyBytes.Add(int64(len(data)))
	if err != nil {
		apiError(w, 400, "invalid_request", err.Error())
		return
	}
	f.answer(w, f.accept(project, branch, replace, claimed, data))
}

// fakeAnswer is what the fake makes of one package.
type fakeAnswer struct {
	status        string
	pkg           fakePkg
	code, message string // when status is "error"
	httpStatus    int
}

func (f *fakeServer) injected(w http.ResponseWriter, claimed string) bool {
	f.mu.Lock()
	f.bodyPuts[claimed]++
	attempt := f.bodyPuts[claimed]
	f.mu.Unlock()
	return f.inject != nil && f.inject(w, claimed, attempt)
}

func (f *fakeServer) accept(project, branch string, replace bool, claimed string, data []byte) fakeAnswer {
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != claimed {
		return fakeAnswer{status: "error", code: "checksum_mismatch", message: "the body does not hash to the claimed checksum", httpStatus: 400}
	}
	p, ok := parseFakePkg(data)
	if !ok {
		return fakeAnswer{status: "error", code: "invalid_package", message: "not a package", httpStatus: 400}
	}
	status := "linked"
	f.mu.Lock()
	if _, held := f.blobs[p.SHA256]; !held {
		status = "stored"
	}
	f.blobs[p.SHA256] = p
	f.mu.Unlock()
	return f.link(project, branch, replace, p, status)
}

func (f *fakeServer) link(project, branch string, replace bool, p fakePkg, status string) fakeAnswer {
	f.mu.Lock()
	st := f.linkLocked(project, branch, p, replace)
	f.mu.Unlock()
	switch st {
	case "conflict":
		return fakeAnswer{status: "error", code: "conflict", message: "the branch already holds another " + p.id(), httpStatus: 409}
	case "exists":
		return fakeAnswer{status: "exists", pkg: p, httpStatus: 200}
	}
	return fakeAnswer{status: status, pkg: p, httpStatus: 201}
}

func (f *fakeServer) answer(w http.ResponseWriter, a fakeAnswer) {
	if a.status == "error" {
		apiError(w, a.httpStatus, a.code, a.message)
		return
	}
	w.WriteHeader(a.httpStatus)
	json.NewEncoder(w).Encode(map[string]any{"status": a.status, "package": a.pkg})
}

// putMany takes a tar stream of packages named by SHA-256. An injected
// answer for any entry answers the whole request, as a server failure would.
func (f *fakeServer) putMany(w http.ResponseWriter, r *http.Request, project, branch string, replace bool) {
	type entry struct {
		claimed string
		data    []byte
	}
	var entries []entry
	tr := tar.NewReader(r.Body)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			apiError(w, 400, "invalid_request", err.Error())
			return
		}
		data, err := io.ReadAll(tr)
		f.bodyBytes.Add(int64(len(data)))
		if err != nil {
			apiError(w, 400, "invalid_request", err.Error())
			return
		}
		entries = append(entries, entry{h.Name, data})
	}
	for _, e := range entries {
		if f.injected(w, e.claimed) {
			return
		}
	}
	var results []map[string]any
	for _, e := range entries {
		a := f.accept(project, branch, replace, e.claimed, e.data)
		res := map[string]any{"sha256": e.claimed, "status": a.status}
		if a.status == "error" {
			res["error"] = map[string]string{"code": a.code, "message": a.message}
		} else {
			res["package"] = a.pkg
		}
		results = append(results, res)
	}
	json.NewEncoder(w).Encode(map[string]any{"results": results})
}

func (f *fakeServer) inBranch(project, branch string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.branches[project+"/"+branch])
}

func (f *fakeServer) totalBodyPuts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.bodyPuts {
		n += c
	}
	return n
}

type pushEnv struct {
	t     *testing.T
	srv   *fakeServer
	token string
	dir   string // package files
	cache string // hash cache file
}

func newPushEnv(t *testing.T) *pushEnv {
	// Whatever CI runs these tests must not choose the branch or project.
	for _, v := range []string{"CI_COMMIT_REF_NAME", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CHANGE_BRANCH", "BRANCH_NAME", "PACKHOUSE_PROJECT", "PACKHOUSE_HASH_CACHE"} {
		t.Setenv(v, "")
	}
	srv := newFakeServer(t)
	return &pushEnv{t: t, srv: srv, token: srv.token, dir: t.TempDir(), cache: filepath.Join(t.TempDir(), "hashes")}
}

// file writes a fake package, an hour old so that the hash cache may
// remember it, and returns its path.
func (e *pushEnv) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	setFile(e.t, p, content, time.Now().Add(-time.Hour))
	return p
}

func setFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// push runs `packhouse push` with the cache in the test's directory; args
// come after the push subcommand.
func (e *pushEnv) push(args ...string) (int, string) {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	all := append([]string{"--server", e.srv.srv.URL, "--token", e.token, "push", "--hash-cache", e.cache}, args...)
	code := run(e.t.Context(), all, &stdout, &stderr)
	if stdout.Len() != 0 {
		e.t.Errorf("stdout: %q", stdout.String())
	}
	return code, stderr.String()
}

func pkg(name string, extra ...string) string {
	return name + " 1.0 amd64\n" + strings.Join(extra, "\n") + strings.Repeat("payload ", 1000)
}

func TestPushAllNew(t *testing.T) {
	e := newPushEnv(t)
	var total int64
	for _, n := range []string{"a", "b", "c"} {
		e.file(n+".deb", pkg(n))
		total += int64(len(pkg(n)))
	}
	code, out := e.push("--project", "server", "--branch", "feature/login", e.dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if got := e.srv.bodyBytes.Load(); got != total {
		t.Errorf("server read %d body bytes, want %d", got, total)
	}
	if e.srv.inBranch("server", "feature/login") != 3 || e.srv.checks != 1 {
		t.Errorf("branch holds %d, %d checks", e.srv.inBranch("server", "feature/login"), e.srv.checks)
	}
	if strings.Count(out, "stored  ") != 3 || !strings.Contains(out, "server@feature/login: 3 files: 3 stored, 0 linked, 0 exists, 0 failed") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(out, "(a 1.0 amd64, ") {
		t.Errorf("output does not name the package:\n%s", out)
	}
}

func TestPushAllKnownSendsNoBody(t *testing.T) {
	e := newPushEnv(t)
	for _, n := range []string{"a", "b", "c"} {
		e.srv.hold(pkg(n))
		e.file(n+".deb", pkg(n))
	}
	e.srv.preload("server", "main", pkg("c"))
	code, out := e.push("--project", "server", "--branch", "main", e.dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if got := e.srv.bodyBytes.Load(); got != 0 || e.srv.totalBodyPuts() != 0 {
		t.Errorf("server read %d body bytes in %d PUTs, want none", got, e.srv.totalBodyPuts())
	}
	if !strings.Contains(out, "3 files: 0 stored, 2 linked, 1 exists, 0 failed; sent 0 B, skipped 23.5 KiB") {
		t.Errorf("output:\n%s", out)
	}
}

func TestPushPartial(t *testing.T) {
	e := newPushEnv(t)
	e.srv.hold(pkg("a"))
	e.file("a.deb", pkg("a"))
	b := e.file("b.deb", pkg("b"))
	code, out := e.push("--project", "server", "--branch", "main", e.dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if got, want := e.srv.bodyBytes.Load(), int64(len(pkg("b"))); got != want {
		t.Errorf("server read %d body bytes, want %d (b.deb only)", got, want)
	}
	if !strings.Contains(out, "stored  "+b) || !strings.Contains(out, "1 stored, 1 linked") {
		t.Errorf("output:\n%s", out)
	}
}

func TestPushConflict(t *testing.T) {
	e := newPushEnv(t)
	e.srv.preload("server", "main", pkg("a", "old build"))
	a := e.file("a.deb", pkg("a", "new build"))
	e.file("b.deb", pkg("b"))
	code, out := e.push("--project", "server", "--branch", "main", e.dir)
	if code == 0 {
		t.Fatalf("exit 0 on a conflict:\n%s", out)
	}
	if !strings.Contains(out, "failed  "+a+": conflict: the branch already holds another a 1.0 amd64") ||
		!strings.Contains(out, "packhouse: "+a+": conflict") || !strings.Contains(out, "1 stored, 0 linked, 0 exists, 1 failed") {
		t.Errorf("output:\n%s", out)
	}

	code, out = e.push("--project", "server", "--branch", "main", "--replace", e.dir)
	if code != 0 {
		t.Fatalf("--replace: exit %d:\n%s", code, out)
	}
	// The refused upload left its bytes on the server: now they are linked.
	if !strings.Contains(out, "0 stored, 1 linked, 1 exists, 0 failed; sent 0 B") {
		t.Errorf("--replace output:\n%s", out)
	}
}

func TestPushRetriesTransientFailure(t *testing.T) {
	e := newPushEnv(t)
	e.srv.inject = func(w http.ResponseWriter, sha string, attempt int) bool {
		if attempt == 1 {
			apiError(w, 503, "unavailable", "shutting down")
			return true
		}
		return false
	}
	e.file("a.deb", pkg("a"))
	code, out := e.push("--project", "server", "--branch", "main", e.dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if n := e.srv.totalBodyPuts(); n != 2 {
		t.Errorf("%d body PUTs, want 2 (a 503, then the retry)", n)
	}
	if !strings.Contains(out, "1 stored") {
		t.Errorf("output:\n%s", out)
	}
}

func TestPushPermanentFailureNotRetried(t *testing.T) {
	e := newPushEnv(t)
	e.file("a.deb", pkg("a"))
	bad := e.file("broken.deb", "this is not a package")
	code, out := e.push("--project", "server", "--branch", "main", e.dir)
	if code == 0 {
		t.Fatalf("exit 0:\n%s", out)
	}
	if n := e.srv.totalBodyPuts(); n != 2 {
		t.Errorf("%d bodies sent, want 2 (one per file, no retry of the refusal)", n)
	}
	if !strings.Contains(out, "failed  "+bad+": invalid_package: not a package") || !strings.Contains(out, "1 stored") {
		t.Errorf("output:\n%s", out)
	}
}

func TestPushHashCache(t *testing.T) {
	e := newPushEnv(t)
	a := e.file("a.deb", pkg("a"))
	b := e.file("b.deb", pkg("b"))
	e.file("c.deb", pkg("c"))
	args := []string{"--project", "server", "--branch", "main", e.dir}

	_, out := e.push(args...)
	if !strings.Contains(out, "hashed 3, 0 from cache") {
		t.Fatalf("first push:\n%s", out)
	}
	_, out = e.push(args...)
	if !strings.Contains(out, "hashed 0, 3 from cache") || !strings.Contains(out, "3 exists") {
		t.Fatalf("second push did not use the cache:\n%s", out)
	}

	// A new mtime, and new content of another size: both hashed again.
	touched := time.Now().Add(-30 * time.Minute)
	os.Chtimes(a, touched, touched)
	setFile(t, b, pkg("b", "rebuilt"), time.Now().Add(-time.Hour))
	_, out = e.push(append([]string{"--replace"}, args...)...)
	if !strings.Contains(out, "hashed 2, 1 from cache") || !strings.Contains(out, "1 stored, 0 linked, 2 exists") {
		t.Fatalf("after changing two files:\n%s", out)
	}
	// The stored hash must be b's new one: pushing again finds it.
	_, out = e.push(args...)
	if !strings.Contains(out, "hashed 0, 3 from cache") || !strings.Contains(out, "3 exists") {
		t.Fatalf("after re-hashing:\n%s", out)
	}

	// --no-cache neither reads nor writes it.
	os.Remove(e.cache)
	_, out = e.push(append([]string{"--no-cache"}, args...)...)
	if !strings.Contains(out, "hashed 3, 0 from cache") {
		t.Errorf("--no-cache:\n%s", out)
	}
	if _, err := os.Stat(e.cache); err == nil {
		t.Error("--no-cache wrote the cache")
	}

	// A corrupt cache costs a re-hash, nothing more.
	os.WriteFile(e.cache, []byte("garbage"), 0o600)
	if code, out := e.push(args...); code != 0 || !strings.Contains(out, "hashed 3, 0 from cache") {
		t.Errorf("corrupt cache: exit %d\n%s", code, out)
	}
}

func TestPushBranchAndProjectFromEnvironment(t *testing.T) {
	e := newPushEnv(t)
	e.file("a.deb", pkg("a"))
	t.Setenv("GITHUB_REF_NAME", "17/merge")
	t.Setenv("GITHUB_HEAD_REF", "fix/crash")
	t.Setenv("PACKHOUSE_PROJECT", "watcher")
	code, out := e.push(e.dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if e.srv.inBranch("watcher", "fix/crash") != 1 {
		t.Errorf("not pushed to watcher@fix/crash:\n%s", out)
	}
}

func TestPushUsageErrors(t *testing.T) {
	e := newPushEnv(t)
	a := e.file("a.deb", pkg("a"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--branch", "main", a}, "no project"},
		{[]string{"--project", "p", "--branch", "main"}, "requires at least 1 arg"},
		{[]string{"--project", "p", "--branch", "main", "--jobs", "0", a}, "--jobs 0"},
		{[]string{"--project", "p", "--branch", "main", filepath.Join(e.dir, "nope.deb")}, "no such file"},
		{[]string{"--project", "p", "--branch", "main", t.TempDir()}, "no package files"},
	} {
		code, out := e.push(tc.args...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output %q; want an error with %q", tc.args, code, out, tc.want)
		}
	}
}

func TestPushUnauthorized(t *testing.T) {
	e := newPushEnv(t)
	e.token = "stolen"
	e.file("a.deb", pkg("a"))
	code, out := e.push("--project", "p", "--branch", "main", e.dir)
	if code == 0 || !strings.Contains(out, "unauthorized") || e.srv.totalBodyPuts() != 0 {
		t.Errorf("exit %d, %d PUTs:\n%s", code, e.srv.totalBodyPuts(), out)
	}
}

func TestPushQuiet(t *testing.T) {
	e := newPushEnv(t)
	e.file("a.deb", pkg("a"))
	if code, out := e.push("-q", "--project", "p", "--branch", "main", e.dir); code != 0 || out != "" {
		t.Errorf("exit %d, output %q", code, out)
	}
	bad := e.file("bad.deb", "junk")
	code, out := e.push("-q", "--project", "p", "--branch", "main", e.dir)
	if code == 0 || !strings.Contains(out, "failed "+bad+": invalid_package") || strings.Contains(out, "a.deb") {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// TestPushManyFiles pushes enough files to keep every upload slot busy, half
// of them already on the server.
func TestPushManyFiles(t *testing.T) {
	e := newPushEnv(t)
	var want int64
	for i := range 200 {
		content := pkg(fmt.Sprintf("p%03d", i))
		e.file(fmt.Sprintf("p%03d.deb", i), content)
		if i%2 == 0 {
			e.srv.hold(content)
		} else {
			want += int64(len(content))
		}
	}
	code, out := e.push("--project", "p", "--branch", "main", "--jobs", "16", e.dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if got := e.srv.bodyBytes.Load(); got != want || e.srv.inBranch("p", "main") != 200 {
		t.Errorf("read %d body bytes (want %d), branch holds %d", got, want, e.srv.inBranch("p", "main"))
	}
}
