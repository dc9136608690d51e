package httpapi_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/packhouse/packhouse/internal/blob/fs"
	"github.com/packhouse/packhouse/internal/debtest"
	"github.com/packhouse/packhouse/internal/httpapi"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/meta/sqlite"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

type env struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *service.Service
	admin string
	key   *sign.Key
	data  string
}

func newEnv(t *testing.T, cfg service.Config) *env {
	t.Helper()
	return newEnvKey(t, cfg, sign.Ed25519)
}

// newEnvKey is newEnv with a signing key of the given algorithm: apk needs
// RSA.
func newEnvKey(t *testing.T, cfg service.Config, algo sign.Algorithm) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var key *sign.Key
	if algo == sign.RSA3072 {
		// Made once: generating RSA keys takes seconds. Only for tests.
		armored, err := os.ReadFile("testdata/rsa3072-test-key.asc")
		if err != nil {
			t.Fatal(err)
		}
		key, err = sign.Load(armored)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		key, err = sign.Generate("test", "test@example.org", algo, time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	if cfg.MaxPackageSize == 0 {
		cfg.MaxPackageSize = 1 << 20
	}
	svc := service.New(m, blobs, key, cfg)
	_, admin, err := svc.CreateToken(ctx, meta.TokenAdmin, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		m.Close()
	})
	return &env{t: t, srv: srv, svc: svc, admin: admin, key: key, data: dir}
}

func (e *env) do(method, path, token string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) json(method, path string, in any, wantStatus int) []byte {
	e.t.Helper()
	b, _ := json.Marshal(in)
	resp, out := e.do(method, path, e.admin, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, wantStatus)
	}
	return out
}

func (e *env) push(project, branch string, deb []byte, wantStatus int) []byte {
	e.t.Helper()
	sum := sha256.Sum256(deb)
	resp, out := e.do("PUT", "/api/v1/projects/"+project+"/push?branch="+url.QueryEscape(branch), e.admin, bytes.NewReader(deb),
		map[string]string{"X-Checksum-Sha256": hex.EncodeToString(sum[:])})
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("push %s/%s: %d %s, want %d", project, branch, resp.StatusCode, out, wantStatus)
	}
	return out
}

func (e *env) get(path string, wantStatus int) []byte {
	e.t.Helper()
	resp, out := e.do("GET", path, "", nil, nil)
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, out, wantStatus)
	}
	return out
}

// release fetches and verifies InRelease and returns its SHA256 entries.
func (e *env) release(repo, suite string) map[string]string {
	e.t.Helper()
	in := e.get("/apt/"+repo+"/dists/"+suite+"/InRelease", 200)
	block, _ := clearsign.Decode(in)
	if block == nil {
		e.t.Fatalf("InRelease is not clear-signed:\n%s", in)
	}
	pub, _ := e.key.ArmoredPublic()
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := block.VerifySignature(ring, nil); err != nil {
		e.t.Fatalf("InRelease signature: %v", err)
	}
	files := map[string]string{}
	inSHA := false
	for _, line := range strings.Split(string(block.Plaintext), "\n") {
		switch {
		case line == "SHA256:":
			inSHA = true
		case inSHA && strings.HasPrefix(line, " "):
			f := strings.Fields(line)
			files[f[2]] = f[0]
		default:
			inSHA = false
		}
	}
	return files
}

// packages returns "name=version" of every stanza in an architecture's
// Packages.gz, fetched by hash and checked against the Release.
func (e *env) packages(repo, suite, arch string) []string {
	e.t.Helper()
	files := e.release(repo, suite)
	path := "main/binary-" + arch + "/Packages.gz"
	sum, ok := files[path]
	if !ok {
		e.t.Fatalf("Release of %s/%s lists no %s: %v", repo, suite, path, files)
	}
	gz := e.get("/apt/"+repo+"/dists/"+suite+"/main/binary-"+arch+"/by-hash/SHA256/"+sum, 200)
	if got := sha256.Sum256(gz); hex.EncodeToString(got[:]) != sum {
		e.t.Fatalf("by-hash %s: content hashes to %x", sum, got)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		e.t.Fatal(err)
	}
	if plain := files["main/binary-"+arch+"/Packages"]; plain != "" {
		if got := sha256.Sum256(raw); hex.EncodeToString(got[:]) != plain {
			e.t.Fatalf("Packages.gz unpacks to %x, Release says Packages is %s", got, plain)
		}
	}
	var out []string
	for _, stanza := range strings.Split(strings.TrimSpace(string(raw)), "\n\n") {
		if stanza == "" {
			continue
		}
		var name, version string
		for _, line := range strings.Split(stanza, "\n") {
			if v, ok := strings.CutPrefix(line, "Package: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "Version: "); ok {
				version = v
			}
		}
		out = append(out, name+"="+version)
	}
	// Stanza order means nothing to apt; indexes keep recent additions last.
	sort.Strings(out)
	return out
}

func setupProducts(e *env) {
	e.json("POST", "/api/v1/projects", map[string]any{"name": "server", "default_branch": "master", "repositories": []string{"product"}}, 201)
	e.json("POST", "/api/v1/projects", map[string]any{"name": "deps", "default_branch": "main", "repositories": []string{"product"}}, 201)
}

func TestViews(t *testing.T) {
	e := newEnv(t, service.Config{})
	setupProducts(e)
	e.push("deps", "main", debtest.Make(debtest.Spec{Name: "libfoo", Version: "1.0", Arch: "amd64"}), 201)
	e.push("server", "master", debtest.Make(debtest.Spec{Name: "srv", Version: "1.0", Arch: "amd64", Depends: "libfoo"}), 201)
	e.push("server", "master", debtest.Make(debtest.Spec{Name: "srv-doc", Version: "1.0", Arch: "all"}), 201)
	e.push("server", "feature/login", debtest.Make(debtest.Spec{Name: "srv", Version: "2.0~login", Arch: "amd64", Depends: "libfoo"}), 201)

	if got := fmt.Sprint(e.packages("product", "master", "amd64")); got != "[libfoo=1.0 srv-doc=1.0 srv=1.0]" {
		t.Errorf("master: %s", got)
	}
	// The branch sees deps' default branch and its own srv instead of master's.
	if got := fmt.Sprint(e.packages("product", "feature/login", "amd64")); got != "[libfoo=1.0 srv-doc=1.0 srv=2.0~login]" {
		t.Errorf("feature/login: %s", got)
	}
	// deps' own default branch name is a view too.
	if got := fmt.Sprint(e.packages("product", "main", "amd64")); got != "[libfoo=1.0 srv-doc=1.0 srv=1.0]" {
		t.Errorf("main: %s", got)
	}
	e.get("/apt/product/dists/no-such-branch/InRelease", 404)

	// Another push to the branch is seen at once, and the earlier index
	// stays reachable by hash.
	old := e.release("product", "feature/login")["main/binary-amd64/Packages.gz"]
	e.push("server", "feature/login", debtest.Make(debtest.Spec{Name: "srv", Version: "2.1~login", Arch: "amd64"}), 201)
	if got := fmt.Sprint(e.packages("product", "feature/login", "amd64")); got != "[libfoo=1.0 srv-doc=1.0 srv=2.0~login srv=2.1~login]" {
		t.Errorf("after second push: %s", got)
	}
	e.get("/apt/product/dists/feature/login/main/binary-amd64/by-hash/SHA256/"+old, 200)

	// Pool files are served with their length, ranges and an ETag.
	in := string(e.get("/apt/product/dists/master/main/binary-amd64/Packages", 200))
	i := strings.Index(in, "Filename: ")
	pool := in[i+len("Filename: "):]
	pool = pool[:strings.IndexByte(pool, '\n')]
	resp, body := e.do("GET", "/apt/product/"+pool, "", nil, map[string]string{"Range": "bytes=0-7"})
	if resp.StatusCode != 206 || string(body) != "!<arch>\n" || resp.Header.Get("ETag") == "" {
		t.Errorf("pool range: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	e.get("/keys/packhouse.asc", 200)
}

func TestReleaseDateAndExpiry(t *testing.T) {
	// Signatures may not predate the key, which is made now.
	start := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	// Read by the builds a push starts in the background, too.
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	setNow := func(t time.Time) { clock.Store(t.UnixNano()) }
	e := newEnv(t, service.Config{Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }, ReleaseValidity: 4 * time.Hour})
	setupProducts(e)
	date := func(t time.Time) string { return t.Format("Mon, 02 Jan 2006 15:04:05 UTC") }
	e.push("deps", "main", debtest.Make(debtest.Spec{Name: "aa", Version: "1"}), 201)
	first := string(e.get("/apt/product/dists/main/Release", 200))
	if !strings.Contains(first, "Date: "+date(start)) || !strings.Contains(first, "Valid-Until: "+date(start.Add(4*time.Hour))) {
		t.Fatalf("Release:\n%s", first)
	}
	// The clock goes back: Date does not.
	setNow(start.Add(-time.Minute))
	e.push("deps", "main", debtest.Make(debtest.Spec{Name: "bb", Version: "1"}), 201)
	if r := string(e.get("/apt/product/dists/main/Release", 200)); !strings.Contains(r, "Date: "+date(start)) {
		t.Fatalf("Date went backwards:\n%s", r)
	}
	// Close to Valid-Until, the Release is signed again without any push.
	now := start.Add(3*time.Hour + 30*time.Minute)
	setNow(now)
	if r := string(e.get("/apt/product/dists/main/Release", 200)); !strings.Contains(r, "Valid-Until: "+date(now.Add(4*time.Hour))) {
		t.Fatalf("not re-signed before expiry:\n%s", r)
	}
}

func TestChecksumFirstSendsNoBody(t *testing.T) {
	e := newEnv(t, service.Config{})
	setupProducts(e)
	deb := debtest.Make(debtest.Spec{Name: "big", Version: "1", Files: map[string]string{"data": strings.Repeat("x", 100000)}})
	sum := sha256.Sum256(deb)
	hexSum := hex.EncodeToString(sum[:])
	deploy := map[string]string{"X-Checksum-Sha256": hexSum, "X-Checksum-Deploy": "true"}

	resp, body := e.do("PUT", "/api/v1/projects/server/push?branch=master", e.admin, nil, deploy)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "blob_unknown") {
		t.Fatalf("deploy of unknown bytes: %d %s", resp.StatusCode, body)
	}
	e.push("server", "master", deb, 201)
	resp, body = e.do("PUT", "/api/v1/projects/server/push?branch=feature/x", e.admin, nil, deploy)
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"linked"`) {
		t.Fatalf("deploy of known bytes: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("PUT", "/api/v1/projects/server/push?branch=feature/x", e.admin, nil, deploy)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"exists"`) {
		t.Fatalf("deploy again: %d %s", resp.StatusCode, body)
	}
	// The batch form.
	out := e.json("POST", "/api/v1/projects/server/push?branch=feature/y", map[string]any{"packages": []map[string]any{
		{"sha256": hexSum, "size": len(deb), "filename": "big.deb"},
		{"sha256": strings.Repeat("0", 64), "size": 1, "filename": "other.deb"},
	}}, 200)
	var res struct {
		Results []struct{ Status string } `json:"results"`
	}
	json.Unmarshal(out, &res)
	if len(res.Results) != 2 || res.Results[0].Status != "linked" || res.Results[1].Status != "missing" {
		t.Fatalf("batch: %s", out)
	}
}

func TestConflictAndReplace(t *testing.T) {
	e := newEnv(t, service.Config{})
	setupProducts(e)
	e.push("server", "master", debtest.Make(debtest.Spec{Name: "srv", Version: "1", Description: "one"}), 201)
	other := debtest.Make(debtest.Spec{Name: "srv", Version: "1", Description: "two"})
	out := e.push("server", "master", other, 409)
	if !strings.Contains(string(out), "replace") {
		t.Errorf("conflict message: %s", out)
	}
	sum := sha256.Sum256(other)
	resp, out := e.do("PUT", "/api/v1/projects/server/push?branch=master&replace=true", e.admin, bytes.NewReader(other),
		map[string]string{"X-Checksum-Sha256": hex.EncodeToString(sum[:])})
	if resp.StatusCode != 201 {
		t.Fatalf("replace: %d %s", resp.StatusCode, out)
	}
	if got := e.packages("product", "master", "amd64"); fmt.Sprint(got) != "[srv=1]" {
		t.Fatalf("after replace: %v", got)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, service.Config{})
	setupProducts(e)
	var tok struct{ Token string }
	json.Unmarshal(e.json("POST", "/api/v1/tokens", map[string]any{"kind": "upload", "projects": []string{"deps"}}, 201), &tok)
	deb := debtest.Make(debtest.Spec{Name: "aa", Version: "1"})
	for _, tc := range []struct {
		project string
		want    int
	}{{"deps", 201}, {"server", 403}} {
		resp, body := e.do("PUT", "/api/v1/projects/"+tc.project+"/push?branch=main", tok.Token, bytes.NewReader(deb), nil)
		if resp.StatusCode != tc.want {
			t.Errorf("upload token pushing to %s: %d %s, want %d", tc.project, resp.StatusCode, body, tc.want)
		}
	}
	// An upload token cannot administer.
	resp, _ := e.do("POST", "/api/v1/tokens", tok.Token, strings.NewReader(`{"kind":"admin"}`), nil)
	if resp.StatusCode != 403 {
		t.Errorf("upload token making a token: %d", resp.StatusCode)
	}
	// A revoked token is refused at once, though it was just used.
	var list struct{ Tokens []struct{ ID, Kind string } }
	resp, body := e.do("GET", "/api/v1/tokens", e.admin, nil, nil)
	json.Unmarshal(body, &list)
	for _, lt := range list.Tokens {
		if lt.Kind == "upload" {
			if resp, body := e.do("DELETE", "/api/v1/tokens/"+lt.ID, e.admin, nil, nil); resp.StatusCode != 204 {
				t.Fatalf("revoke: %d %s", resp.StatusCode, body)
			}
		}
	}
	resp, body = e.do("PUT", "/api/v1/projects/deps/push?branch=main", tok.Token, bytes.NewReader(deb), nil)
	if resp.StatusCode != 401 {
		t.Errorf("revoked token pushing: %d %s", resp.StatusCode, body)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, service.Config{MaxPackageSize: 256 << 10})
	setupProducts(e)
	good := debtest.Make(debtest.Spec{Name: "good", Version: "1"})
	goodSum := sha256.Sum256(good)

	bomb := func() []byte {
		// A control.tar.gz of some 80 KB that inflates past the bound.
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: "./zeros", Mode: 0o644, Size: 80 << 20, Typeflag: tar.TypeReg})
		tw.Write(make([]byte, 80<<20))
		tw.Close()
		zw.Close()
		return debtest.Ar(map[string][]byte{"debian-binary": []byte("2.0\n"), "control.tar.gz": buf.Bytes(), "data.tar.gz": debtest.TarGz(nil)},
			"debian-binary", "control.tar.gz", "data.tar.gz")
	}()
	withControl := func(files map[string]string) []byte {
		return debtest.Ar(map[string][]byte{"debian-binary": []byte("2.0\n"), "control.tar.gz": debtest.TarGz(files), "data.tar.gz": debtest.TarGz(nil)},
			"debian-binary", "control.tar.gz", "data.tar.gz")
	}
	control := "Package: evil\nVersion: 1\nArchitecture: all\nDescription: x\n"

	tests := []struct {
		name   string
		path   string
		token  string
		body   []byte
		header map[string]string
		status int
		code   string
	}{
		{"truncated deb", "/api/v1/projects/server/push?branch=master", e.admin, good[:len(good)-30], nil, 400, "invalid_package"},
		{"wrong ar magic", "/api/v1/projects/server/push?branch=master", e.admin, append([]byte("!<arch>X"), good[8:]...), nil, 400, "invalid_package"},
		{"control.tar with ..", "/api/v1/projects/server/push?branch=master", e.admin, withControl(map[string]string{"./control": control, "../evil": "x"}), nil, 400, "invalid_package"},
		{"control.tar with absolute path", "/api/v1/projects/server/push?branch=master", e.admin, withControl(map[string]string{"./control": control, "/etc/evil": "x"}), nil, 400, "invalid_package"},
		{"inflates past the bound", "/api/v1/projects/server/push?branch=master", e.admin, bomb, nil, 413, "too_large"},
		{"checksum mismatch", "/api/v1/projects/server/push?branch=master", e.admin, good, map[string]string{"X-Checksum-Sha256": strings.Repeat("a", 64)}, 400, "checksum_mismatch"},
		{"oversized body", "/api/v1/projects/server/push?branch=master", e.admin, bytes.Repeat([]byte("x"), 300<<10), nil, 413, "too_large"},
		{"no token", "/api/v1/projects/server/push?branch=master", "", good, nil, 401, "unauthorized"},
		{"wrong token", "/api/v1/projects/server/push?branch=master", "phk_" + strings.Repeat("0", 64), good, nil, 401, "unauthorized"},
		{"garbage token", "/api/v1/projects/server/push?branch=master", "hunter2", good, nil, 401, "unauthorized"},
		{"branch with ..", "/api/v1/projects/server/push?branch=a/../b", e.admin, good, nil, 400, "invalid_request"},
		{"no branch", "/api/v1/projects/server/push", e.admin, good, nil, 400, "invalid_request"},
		{"unknown project", "/api/v1/projects/nope/push?branch=master", e.admin, good, nil, 404, "not_found"},
		{"bad claimed checksum", "/api/v1/projects/server/push?branch=master", e.admin, good, map[string]string{"X-Checksum-Sha256": "xyz"}, 400, "invalid_request"},
		{"not a deb at all", "/api/v1/projects/server/push?branch=master", e.admin, []byte("hello world"), nil, 400, "invalid_package"},
		{"deploy with a bad checksum", "/api/v1/projects/server/push?branch=master", e.admin, nil, map[string]string{"X-Checksum-Deploy": "true", "X-Checksum-Sha256": "../../etc"}, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = bytes.NewReader(tc.body)
			}
			resp, out := e.do("PUT", tc.path, tc.token, body, tc.header)
			var eb struct{ Code, Message string }
			json.Unmarshal(out, &eb)
			if resp.StatusCode != tc.status || eb.Code != tc.code || eb.Message == "" {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, out, tc.status, tc.code)
			}
		})
	}

	// The token and many-package endpoints refuse malformed input.
	if resp, body := e.do("DELETE", "/api/v1/tokens/abc", e.admin, nil, nil); resp.StatusCode != 400 {
		t.Errorf("DELETE /api/v1/tokens/abc: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do("DELETE", "/api/v1/tokens/999", e.admin, nil, nil); resp.StatusCode != 404 {
		t.Errorf("DELETE of an unknown token: %d %s", resp.StatusCode, body)
	}
	var link bytes.Buffer
	tw := tar.NewWriter(&link)
	tw.WriteHeader(&tar.Header{Name: hex.EncodeToString(goodSum[:]), Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	tw.Close()
	tarHeader := map[string]string{"Content-Type": "application/x-tar"}
	if resp, body := e.do("PUT", "/api/v1/projects/server/push?branch=master", e.admin, bytes.NewReader(link.Bytes()), tarHeader); resp.StatusCode != 400 {
		t.Errorf("tar with a symlink entry: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do("PUT", "/api/v1/projects/server/push?branch=master", e.admin, strings.NewReader(strings.Repeat("garbage!", 200)), tarHeader); resp.StatusCode != 400 {
		t.Errorf("a tar stream of garbage: %d %s", resp.StatusCode, body)
	}

	// URLs with encoded slashes and dots reach nothing.
	for _, p := range []string{
		"/apt/product/dists/..%2F..%2Fetc/Release",
		"/apt/product/dists/master%2F..%2F..%2Fx/InRelease",
		"/apt/product/pool/..%2F..%2Fmeta.db",
		"/apt/..%2Fproduct/dists/master/Release",
		"/apt/product/pool/aa/" + hex.EncodeToString(goodSum[:]) + "/..%2F..%2Fx.deb",
	} {
		resp, out := e.do("GET", p, "", nil, nil)
		if resp.StatusCode != 404 && resp.StatusCode != 400 {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, out)
		}
	}

	// Nothing was stored, and the server still works.
	resp, out := e.do("GET", "/api/v1/projects/server/packages?branch=master", "", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"packages": []`) {
		t.Fatalf("after bad input: %d %s", resp.StatusCode, out)
	}
	e.push("server", "master", good, 201)
	e.get("/healthz", 200)
}

// Many single pushes and a removal: every Release lists exactly the
// branch's packages, with index hashes that match what is served, through
// the index's base being re-cut when its tail grows.
func TestIndexThroughManyPushes(t *testing.T) {
	e := newEnv(t, service.Config{})
	setupProducts(e)
	want := map[string]bool{}
	var shas []string
	for i := range 320 {
		deb := debtest.Make(debtest.Spec{Name: fmt.Sprintf("pkg%03d", i%40), Version: fmt.Sprintf("1.%d", i), Arch: "amd64"})
		e.push("deps", "main", deb, 201)
		sum := sha256.Sum256(deb)
		shas = append(shas, hex.EncodeToString(sum[:]))
		want[fmt.Sprintf("pkg%03d=1.%d", i%40, i)] = true
		if i%37 == 0 || i == 319 {
			got := e.packages("product", "main", "amd64")
			if len(got) != len(want) {
				t.Fatalf("after %d pushes the index lists %d packages, want %d", i+1, len(got), len(want))
			}
			for _, p := range got {
				if !want[p] {
					t.Fatalf("after %d pushes the index lists %s", i+1, p)
				}
			}
		}
	}
	// A removal from the middle of the base.
	resp, body := e.do("DELETE", "/api/v1/projects/deps/packages/"+shas[100]+"?branch=main", e.admin, nil, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("remove: %d %s", resp.StatusCode, body)
	}
	delete(want, "pkg020=1.100")
	got := e.packages("product", "main", "amd64")
	if len(got) != len(want) || slices.Contains(got, "pkg020=1.100") {
		t.Fatalf("after removal: %d packages, %v", len(got), slices.Contains(got, "pkg020=1.100"))
	}
}

// Many packages in one tar stream: each is answered on its own, and the
// good ones land in the branch.
func TestPushMany(t *testing.T) {
	e := newEnv(t, service.Config{})
	setupProducts(e)
	type entry struct {
		name string
		data []byte
	}
	var entries []entry
	for i := range 300 {
		deb := debtest.Make(debtest.Spec{Name: fmt.Sprintf("many%03d", i), Version: "1", Arch: "amd64"})
		sum := sha256.Sum256(deb)
		entries = append(entries, entry{hex.EncodeToString(sum[:]), deb})
	}
	bad := []byte("not a package")
	badSum := sha256.Sum256(bad)
	entries = append(entries, entry{hex.EncodeToString(badSum[:]), bad}, entry{strings.Repeat("a", 64), entries[0].data})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		tw.WriteHeader(&tar.Header{Name: en.name, Size: int64(len(en.data)), Mode: 0o644, Typeflag: tar.TypeReg})
		tw.Write(en.data)
	}
	tw.Close()
	stream := buf.Bytes()
	tarHeader := map[string]string{"Content-Type": "application/x-tar"}
	resp, out := e.do("PUT", "/api/v1/projects/deps/push?branch=main", e.admin, bytes.NewReader(stream), tarHeader)
	if resp.StatusCode != 200 {
		t.Fatalf("push many: %d %s", resp.StatusCode, out)
	}
	var res struct {
		Results []struct {
			Status string
			Error  *struct{ Code string }
		} `json:"results"`
	}
	json.Unmarshal(out, &res)
	if len(res.Results) != 302 || res.Results[0].Status != "stored" || res.Results[299].Status != "stored" ||
		res.Results[300].Error == nil || res.Results[300].Error.Code != "invalid_package" ||
		res.Results[301].Error == nil || res.Results[301].Error.Code != "checksum_mismatch" {
		t.Fatalf("results: %d, first %+v, last %+v %+v", len(res.Results), res.Results[0], res.Results[300], res.Results[301])
	}
	if got := e.packages("product", "main", "amd64"); len(got) != 300 {
		t.Fatalf("the view holds %d packages", len(got))
	}
	// Again: every package is already there.
	resp, out = e.do("PUT", "/api/v1/projects/deps/push?branch=main", e.admin, bytes.NewReader(stream), tarHeader)
	json.Unmarshal(out, &res)
	if resp.StatusCode != 200 || res.Results[0].Status != "exists" {
		t.Fatalf("push many again: %d %+v", resp.StatusCode, res.Results[0])
	}
	// A stream cut short is refused. Groups committed before the cut would
	// stay (a retry finds them); this one breaks within the first group.
	resp, out = e.do("PUT", "/api/v1/projects/server/push?branch=cut", e.admin, bytes.NewReader(stream[:len(stream)/2]), tarHeader)
	if resp.StatusCode != 400 {
		t.Fatalf("truncated stream: %d %s", resp.StatusCode, out)
	}
	if resp, out := e.do("GET", "/api/v1/projects/server/packages?branch=cut", "", nil, nil); !strings.Contains(string(out), `"packages": []`) {
		t.Fatalf("after a truncated stream: %d %s", resp.StatusCode, out)
	}
}
