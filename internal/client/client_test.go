package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func newTestClient(t *testing.T, h http.Handler, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := New(srv.URL, "secret", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://host", "http://", "://x"} {
		if _, err := New(u, ""); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
	c, err := New("https://example.com/prefix/", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "https://example.com/prefix" {
		t.Errorf("base = %q", c.base)
	}
}

func TestAPIError(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusConflict, CodeConflict, "hello 1.0 amd64 is already in the branch")
	}))
	_, err := c.GetPackage(t.Context(), strings.Repeat("a", 64))
	ae, ok := errors.AsType[*APIError](err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	if ae.Status != 409 || ae.Code != CodeConflict || ae.Message != "hello 1.0 amd64 is already in the branch" {
		t.Errorf("got %+v", ae)
	}
	if ae.Temporary() || IsTemporary(err) {
		t.Error("a conflict is not temporary")
	}
	if want := "conflict: hello 1.0 amd64 is already in the branch (HTTP 409)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestAPIErrorFromProxy(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	}), WithAttempts(1))
	_, err := c.ListProjects(t.Context())
	ae, ok := errors.AsType[*APIError](err)
	if !ok || ae.Status != 502 || ae.Code != "" || ae.Message != "" || !ae.Temporary() {
		t.Fatalf("got %#v", err)
	}
	if want := "Bad Gateway (HTTP 502)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int // answers before a success; 0 ends the list
		attempts int   // expected requests
		ok       bool
	}{
		{"503 then success", []int{503}, 2, true},
		{"500 502 504 then success", []int{500, 502, 504}, 4, true},
		{"429 then success", []int{429}, 2, true},
		{"503 always", []int{503, 503, 503, 503, 503}, 4, false},
		{"400 is not retried", []int{400}, 1, false},
		{"404 is not retried", []int{404}, 1, false},
		{"409 is not retried", []int{409}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i < len(tc.statuses) {
					writeError(w, tc.statuses[i], "x", "injected")
					return
				}
				io.WriteString(w, `{"projects":[{"name":"server","default_branch":"main"}]}`)
			}))
			ps, err := c.ListProjects(t.Context())
			if got := int(n.Load()); got != tc.attempts {
				t.Errorf("%d requests, want %d", got, tc.attempts)
			}
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if tc.ok && (len(ps) != 1 || ps[0].Name != "server") {
				t.Errorf("projects = %+v", ps)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeError(w, 429, "slow_down", "")
			return
		}
		io.WriteString(w, `{"repositories":[]}`)
	}), WithBackoff(time.Hour, time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.ListRepositories(ctx); err != nil {
		t.Fatal(err)
	}
}

// hangUp closes the connection without an answer, as a crashed server or
// a load balancer losing its backend does.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestConnectionErrors(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			hangUp(w)
			return
		}
		io.WriteString(w, `{"branches":[{"name":"main","package_count":3}]}`)
	}))
	bs, err := c.ListBranches(t.Context(), "server")
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 || len(bs) != 1 || bs[0].PackageCount != 3 {
		t.Errorf("%d requests, branches %+v", n.Load(), bs)
	}
}

func TestNotIdempotentNotRetriedAfterLostConnection(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		hangUp(w)
	}))
	_, err := c.CreateToken(t.Context(), TokenUpload, []string{"server"}, "ci")
	if err == nil || n.Load() != 1 {
		t.Fatalf("err = %v after %d requests; want an error after 1", err, n.Load())
	}

	n.Store(0)
	c = newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			writeError(w, 503, CodeUnavailable, "shutting down")
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"t1","kind":"upload","projects":["server"],"token":"ph_x"}`)
	}))
	tok, err := c.CreateToken(t.Context(), TokenUpload, []string{"server"}, "ci")
	if err != nil || tok.Token != "ph_x" || n.Load() != 2 {
		t.Fatalf("token %+v, err %v, %d requests", tok, err, n.Load())
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeError(w, 503, CodeUnavailable, "")
	}), WithBackoff(time.Hour, time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.ListProjects(ctx); err == nil {
		t.Fatal("no error")
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

func TestIsTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&APIError{Status: 503}, true},
		{&APIError{Status: 429}, true},
		{&APIError{Status: 400}, false},
		{fmt.Errorf("wrapped: %w", &APIError{Status: 504}), true},
		{&url.Error{Op: "Put", URL: "http://x", Err: io.ErrUnexpectedEOF}, true},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{errBodyChanged, false},
		{errors.New("unsupported protocol scheme"), false},
	} {
		if got := IsTemporary(tc.err); got != tc.want {
			t.Errorf("IsTemporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestPushCheckSplitsBatches(t *testing.T) {
	var sizes []int
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/projects/server/push" || r.URL.Query().Get("branch") != "feature/x" {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
		var req pushCheckRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Error(err)
		}
		sizes = append(sizes, len(req.Packages))
		var resp pushCheckResponse
		for _, e := range req.Packages {
			resp.Results = append(resp.Results, PushResult{SHA256: e.SHA256, Status: StatusMissing})
		}
		json.NewEncoder(w).Encode(resp)
	}))
	entries := make([]PushEntry, 2*MaxBatch+5)
	for i := range entries {
		entries[i] = PushEntry{SHA256: fmt.Sprintf("%064x", i), Size: int64(i)}
	}
	res, err := c.PushCheck(t.Context(), "server", "feature/x", entries, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[10000 10000 5]" {
		t.Errorf("request sizes %v", sizes)
	}
	if len(res) != len(entries) {
		t.Fatalf("%d results", len(res))
	}
	for i := range res {
		if res[i].SHA256 != entries[i].SHA256 {
			t.Fatalf("result %d is for %s", i, res[i].SHA256)
		}
	}
}

func TestPushCheckShortAnswer(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"results":[]}`)
	}))
	if _, err := c.PushCheck(t.Context(), "p", "b", []PushEntry{{SHA256: "x"}}, false); err == nil {
		t.Fatal("no error for a result count that does not match")
	}
}

func writeTemp(t *testing.T, data []byte) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hello_1.0_amd64.deb")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return p, hex.EncodeToString(sum[:])
}

func TestPushFileRetriesWithBodyReopened(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000)
	path, sum := writeTemp(t, data)
	var n atomic.Int32
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempt := n.Add(1)
		if r.Method != http.MethodPut || r.URL.Path != "/api/v1/projects/server/push" ||
			r.URL.Query().Get("branch") != "main" || r.URL.Query().Get("replace") != "true" ||
			r.URL.Query().Get("filename") != "hello_1.0_amd64.deb" {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
		if r.ContentLength != int64(len(data)) || len(r.TransferEncoding) != 0 {
			t.Errorf("Content-Length %d, Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
		}
		if r.Header.Get("X-Checksum-Sha256") != sum || r.Header.Get("X-Checksum-Deploy") != "" {
			t.Errorf("headers %v", r.Header)
		}
		if r.Header.Get("Authorization") != "Bearer secret" {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		body, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(body, data) {
			t.Errorf("attempt %d: body of %d bytes, err %v", attempt, len(body), err)
		}
		if attempt == 1 {
			writeError(w, 502, "", "")
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"status":"stored","package":{"sha256":%q,"size":%d,"format":"deb","name":"hello","version":"1.0","architecture":"amd64"}}`, sum, len(data))
	}))
	opens := 0
	f := PushFile{Path: path, Size: int64(len(data)), SHA256: sum, Open: func() (io.ReadCloser, error) {
		opens++
		return os.Open(path)
	}}
	res, err := c.PushFile(t.Context(), "server", "main", f, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusStored || res.Package == nil || res.Package.Name != "hello" || res.SHA256 != sum {
		t.Errorf("result %+v", res)
	}
	if opens != 2 || n.Load() != 2 {
		t.Errorf("%d opens, %d requests; want 2, 2", opens, n.Load())
	}
}

func TestPushFileChangedIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		claim int64
	}{{"shorter", 200}, {"longer", 50}} {
		t.Run(tc.name, func(t *testing.T) {
			path, sum := writeTemp(t, bytes.Repeat([]byte("x"), 100))
			var n atomic.Int32
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				io.Copy(io.Discard, r.Body)
				writeError(w, 400, CodeChecksumMismatch, "")
			}))
			_, err := c.PushFile(t.Context(), "p", "b", PushFile{Path: path, Size: tc.claim, SHA256: sum}, false)
			// The server may answer before the transport has read past
			// the claimed size.
			ae, isAPI := errors.AsType[*APIError](err)
			if !errors.Is(err, errBodyChanged) && !(isAPI && ae.Code == CodeChecksumMismatch) {
				t.Fatalf("err = %v, want the file-changed error", err)
			}
			if n.Load() > 1 {
				t.Errorf("%d requests; a changed file must not be retried", n.Load())
			}
		})
	}
}

func TestPushDeploy(t *testing.T) {
	held := strings.Repeat("a", 64)
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.Header.Get("X-Checksum-Deploy") != "true" || r.ContentLength != 0 {
			t.Errorf("%s, deploy %q, length %d", r.Method, r.Header.Get("X-Checksum-Deploy"), r.ContentLength)
		}
		if r.Header.Get("Content-Length") != "0" {
			t.Errorf("Content-Length header %q, want 0", r.Header.Get("Content-Length"))
		}
		if r.Header.Get("X-Checksum-Sha256") != held {
			writeError(w, 404, CodeBlobUnknown, "send the body")
			return
		}
		fmt.Fprintf(w, `{"status":"linked","package":{"sha256":%q}}`, held)
	}))
	res, err := c.PushDeploy(t.Context(), "p", "b", held, false)
	if err != nil || res.Status != StatusLinked {
		t.Errorf("held: %+v, %v", res, err)
	}
	other := strings.Repeat("b", 64)
	res, err = c.PushDeploy(t.Context(), "p", "b", other, false)
	if err != nil || res.Status != StatusMissing || res.SHA256 != other {
		t.Errorf("not held: %+v, %v", res, err)
	}
}

func TestPushCheckEntryError(t *testing.T) {
	c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"results":[{"sha256":"a","status":"error","error":{"code":"conflict","message":"taken"}}]}`)
	}))
	res, err := c.PushCheck(t.Context(), "p", "b", []PushEntry{{SHA256: "a"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != StatusError || res[0].Error == nil || res[0].Error.Code != CodeConflict || res[0].Error.Message != "taken" {
		t.Errorf("result %+v", res[0])
	}
}

// TestResources checks each typed method's request and that it decodes the
// documented answer.
func TestResources(t *testing.T) {
	sum := strings.Repeat("c", 64)
	type call struct {
		method, uri, body string // body: the JSON expected, "" for none
		status            int
		answer            string
	}
	for _, tc := range []struct {
		name  string
		want  call
		run   func(c *Client) (any, error)
		check func(t *testing.T, got any)
	}{
		{
			name: "ListProjects",
			want: call{"GET", "/api/v1/projects", "", 200, `{"projects":[{"name":"server","default_branch":"main","created_at":"2024-08-01T10:00:00Z"}]}`},
			run:  func(c *Client) (any, error) { return c.ListProjects(t.Context()) },
			check: func(t *testing.T, got any) {
				ps := got.([]Project)
				if len(ps) != 1 || ps[0].DefaultBranch != "main" || ps[0].CreatedAt.Year() != 2024 {
					t.Errorf("%+v", ps)
				}
			},
		},
		{
			name: "CreateProject",
			want: call{"POST", "/api/v1/projects", `{"name":"server","default_branch":"master","repositories":["acme"]}`, 201, `{"name":"server","default_branch":"master"}`},
			run: func(c *Client) (any, error) {
				return c.CreateProject(t.Context(), "server", "master", []string{"acme"})
			},
			check: func(t *testing.T, got any) {
				if p := got.(Project); p.Name != "server" || p.DefaultBranch != "master" {
					t.Errorf("%+v", p)
				}
			},
		},
		{
			name: "ListBranches escapes the project",
			want: call{"GET", "/api/v1/projects/my%20server/branches", "", 200, `{"branches":[{"name":"feature/x","package_count":12,"updated_at":"2024-08-01T10:00:00Z"}]}`},
			run:  func(c *Client) (any, error) { return c.ListBranches(t.Context(), "my server") },
			check: func(t *testing.T, got any) {
				if bs := got.([]Branch); len(bs) != 1 || bs[0].Name != "feature/x" || bs[0].PackageCount != 12 {
					t.Errorf("%+v", bs)
				}
			},
		},
		{
			name: "ListPackages",
			want: call{"GET", "/api/v1/projects/server/packages?branch=feature%2Fx", "", 200,
				`{"packages":[{"sha256":"` + sum + `","size":10,"format":"deb","name":"hello","version":"1.0","architecture":"amd64","control":[{"name":"Package","value":"hello"},{"name":"Depends","value":"libc6"}]}]}`},
			run: func(c *Client) (any, error) { return c.ListPackages(t.Context(), "server", "feature/x") },
			check: func(t *testing.T, got any) {
				ps := got.([]Package)
				if len(ps) != 1 || ps[0].SHA256 != sum || len(ps[0].Control) != 2 || ps[0].Control[1] != (ControlField{"Depends", "libc6"}) {
					t.Errorf("%+v", ps)
				}
			},
		},
		{
			name: "ListPackages default branch",
			want: call{"GET", "/api/v1/projects/server/packages", "", 200, `{"packages":[]}`},
			run:  func(c *Client) (any, error) { return c.ListPackages(t.Context(), "server", "") },
		},
		{
			name: "GetPackage",
			want: call{"GET", "/api/v1/packages/" + sum, "", 200, `{"sha256":"` + sum + `","md5":"m","sha1":"s1","sha512":"s5","filename":"hello.deb"}`},
			run:  func(c *Client) (any, error) { return c.GetPackage(t.Context(), sum) },
			check: func(t *testing.T, got any) {
				if p := got.(Package); p.MD5 != "m" || p.SHA1 != "s1" || p.SHA512 != "s5" || p.Filename != "hello.deb" {
					t.Errorf("%+v", p)
				}
			},
		},
		{
			name: "RemovePackage",
			want: call{"DELETE", "/api/v1/projects/server/packages/" + sum + "?branch=main", "", 204, ""},
			run:  func(c *Client) (any, error) { return nil, c.RemovePackage(t.Context(), "server", "main", sum) },
		},
		{
			name: "CreateToken",
			want: call{"POST", "/api/v1/tokens", `{"kind":"upload","projects":["server"],"description":"gitlab ci"}`, 201,
				`{"id":"tok_1","kind":"upload","projects":["server"],"description":"gitlab ci","token":"ph_secret"}`},
			run: func(c *Client) (any, error) {
				return c.CreateToken(t.Context(), TokenUpload, []string{"server"}, "gitlab ci")
			},
			check: func(t *testing.T, got any) {
				if tok := got.(Token); tok.ID != "tok_1" || tok.Token != "ph_secret" {
					t.Errorf("%+v", tok)
				}
			},
		},
		{
			name: "ListTokens",
			want: call{"GET", "/api/v1/tokens", "", 200, `{"tokens":[{"id":"1","kind":"admin","projects":[],"description":"ops"}]}`},
			run:  func(c *Client) (any, error) { return c.ListTokens(t.Context()) },
			check: func(t *testing.T, got any) {
				if ts := got.([]Token); len(ts) != 1 || ts[0].Kind != TokenAdmin || ts[0].Token != "" {
					t.Errorf("%+v", ts)
				}
			},
		},
		{
			name: "ListRepositories",
			want: call{"GET", "/api/v1/repositories", "", 200, `{"repositories":[{"name":"acme","projects":["server","deps"]}]}`},
			run:  func(c *Client) (any, error) { return c.ListRepositories(t.Context()) },
			check: func(t *testing.T, got any) {
				if rs := got.([]Repository); len(rs) != 1 || len(rs[0].Projects) != 2 {
					t.Errorf("%+v", rs)
				}
			},
		},
		{
			name: "CreateRepository",
			want: call{"POST", "/api/v1/repositories", `{"name":"acme","projects":["server"]}`, 201, `{"name":"acme","projects":["server"]}`},
			run:  func(c *Client) (any, error) { return c.CreateRepository(t.Context(), "acme", []string{"server"}) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != tc.want.method || r.URL.RequestURI() != tc.want.uri {
					t.Errorf("request %s %s, want %s %s", r.Method, r.URL.RequestURI(), tc.want.method, tc.want.uri)
				}
				body, _ := io.ReadAll(r.Body)
				if string(body) != tc.want.body {
					t.Errorf("body %s, want %s", body, tc.want.body)
				}
				if tc.want.body != "" && r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
				}
				w.WriteHeader(tc.want.status)
				io.WriteString(w, tc.want.answer)
			}))
			got, err := tc.run(c)
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}
