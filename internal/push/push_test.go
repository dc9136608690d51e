package push

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/packhouse/packhouse/internal/client"
)

// memPusher is the server's side of the push protocol, in memory, without
// HTTP (the CLI's tests have an HTTP one). A package's "name" is its
// content's first line, which makes conflicts easy to stage.
type memPusher struct {
	mu        sync.Mutex
	blobs     map[string]string            // sha256 → name
	branch    map[string]map[string]string // branch → name → sha256
	checked   int                          // entries asked about
	uploads   int                          // PushFile calls
	bodyBytes int64
	failFile  map[string]error // filename → error PushFile returns
	failCheck error
}

func newMemPusher() *memPusher {
	return &memPusher{blobs: map[string]string{}, branch: map[string]map[string]string{}, failFile: map[string]error{}}
}

func (m *memPusher) hold(data string) {
	sum := sha256.Sum256([]byte(data))
	m.blobs[hex.EncodeToString(sum[:])] = strings.SplitN(data, "\n", 2)[0]
}

// link adds a held blob to the branch, as the server does.
func (m *memPusher) link(branch, sum string, replace bool) (string, error) {
	name := m.blobs[sum]
	b := m.branch[branch]
	if b == nil {
		b = map[string]string{}
		m.branch[branch] = b
	}
	switch old, ok := b[name]; {
	case ok && old == sum:
		return client.StatusExists, nil
	case ok && !replace:
		return "", &client.APIError{Status: 409, Code: client.CodeConflict, Message: name + " is already in the branch"}
	}
	b[name] = sum
	return client.StatusLinked, nil
}

func (m *memPusher) PushCheck(ctx context.Context, project, branch string, entries []client.PushEntry, replace bool) ([]client.PushResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failCheck != nil {
		return nil, m.failCheck
	}
	m.checked += len(entries)
	var out []client.PushResult
	for _, e := range entries {
		r := client.PushResult{SHA256: e.SHA256}
		if _, ok := m.blobs[e.SHA256]; !ok {
			r.Status = client.StatusMissing
		} else if st, err := m.link(branch, e.SHA256, replace); err != nil {
			ae := err.(*client.APIError)
			r.Status, r.Error = client.StatusError, &client.APIError{Code: ae.Code, Message: ae.Message}
		} else {
			r.Status = st
		}
		out = append(out, r)
	}
	return out, nil
}

// PushFiles sends each file as PushFile does; the batching is the
// server's business.
func (m *memPusher) PushFiles(ctx context.Context, project, branch string, files []client.PushFile, replace bool) ([]client.PushResult, error) {
	out := make([]client.PushResult, len(files))
	for i, f := range files {
		res, err := m.PushFile(ctx, project, branch, f, replace)
		if err != nil {
			var ae *client.APIError
			if !errors.As(err, &ae) {
				return nil, err
			}
			res = client.PushResult{SHA256: f.SHA256, Status: client.StatusError, Error: ae}
		}
		out[i] = res
	}
	return out, nil
}

func (m *memPusher) PushFile(ctx context.Context, project, branch string, f client.PushFile, replace bool) (client.PushResult, error) {
	m.mu.Lock()
	err := m.failFile[filepath.Base(f.Path)]
	m.uploads++
	m.mu.Unlock()
	if err != nil {
		return client.PushResult{}, err
	}
	rc, err := f.Open()
	if err != nil {
		return client.PushResult{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return client.PushResult{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bodyBytes += int64(len(data))
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
		return client.PushResult{}, &client.APIError{Status: 400, Code: client.CodeChecksumMismatch}
	}
	m.hold(string(data))
	st, err := m.link(branch, f.SHA256, replace)
	if st == client.StatusLinked {
		st = client.StatusStored
	}
	return client.PushResult{SHA256: f.SHA256, Status: st, Package: &client.Package{Name: m.blobs[f.SHA256]}}, err
}

// pkgFiles writes one file per content, named n0.deb, n1.deb, …
func pkgFiles(t *testing.T, contents ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, c := range contents {
		p := filepath.Join(dir, fmt.Sprintf("n%d.deb", i))
		writeOld(t, p, []byte(c))
		paths = append(paths, p)
	}
	return paths
}

func statuses(s *Summary) string {
	var out []string
	for _, r := range s.Results {
		out = append(out, r.Status)
	}
	return strings.Join(out, " ")
}

func TestPush(t *testing.T) {
	contents := []string{"a\n1", "b\n22", "c\n333"}
	size := int64(len(strings.Join(contents, "")))
	for _, tc := range []struct {
		name          string
		held          []string // blobs the server has
		inBranch      []string // of those, already in the branch
		want          string
		bodyBytes     int64
		skipped       int64
		sent, checked int
	}{
		{"all new", nil, nil, "stored stored stored", size, 0, 3, 3},
		{"all known", contents, nil, "linked linked linked", 0, size, 0, 3},
		{"all in the branch", contents, contents, "exists exists exists", 0, size, 0, 3},
		{"partial", contents[1:], contents[2:], "stored linked exists", 3, size - 3, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemPusher()
			for _, c := range tc.held {
				m.hold(c)
			}
			for _, c := range tc.inBranch {
				sum := sha256.Sum256([]byte(c))
				m.link("main", hex.EncodeToString(sum[:]), false)
			}
			paths := pkgFiles(t, contents...)
			s, err := Push(t.Context(), m, paths, Options{Project: "p", Branch: "main"})
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(s); got != tc.want {
				t.Errorf("statuses %q, want %q", got, tc.want)
			}
			if m.bodyBytes != tc.bodyBytes || s.BytesSent != tc.bodyBytes || s.BytesSkipped != tc.skipped {
				t.Errorf("server got %d body bytes, summary says sent %d, skipped %d; want %d, %d",
					m.bodyBytes, s.BytesSent, s.BytesSkipped, tc.bodyBytes, tc.skipped)
			}
			if m.uploads != tc.sent || m.checked != tc.checked {
				t.Errorf("%d uploads, %d checked; want %d, %d", m.uploads, m.checked, tc.sent, tc.checked)
			}
		})
	}
}

func TestPushFailures(t *testing.T) {
	m := newMemPusher()
	m.hold("a\nold")
	sum := sha256.Sum256([]byte("a\nold"))
	m.link("main", hex.EncodeToString(sum[:]), false)
	paths := pkgFiles(t, "a\nnew", "b\n1", "c\n2", "d\n3")
	paths = append(paths, filepath.Join(filepath.Dir(paths[0]), "missing.deb"))
	m.failFile["n2.deb"] = &client.APIError{Status: 400, Code: client.CodeInvalidPackage, Message: "not a deb"}

	// n0's bytes are new, so it is uploaded, then conflicts; n2 is refused;
	// missing.deb cannot be read.
	s, err := Push(t.Context(), m, paths, Options{Project: "p", Branch: "main", Jobs: 2})
	if got, want := statuses(s), "failed stored failed stored failed"; got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	if s.Failed != 3 || s.Stored != 2 {
		t.Fatalf("summary %+v", s)
	}
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 3 || fe.Total != 5 {
		t.Fatalf("err = %v", err)
	}
	if ae, ok := errors.AsType[*client.APIError](s.Results[0].Err); !ok || ae.Code != client.CodeConflict {
		t.Errorf("n0: %v", s.Results[0].Err)
	}
	if ae, ok := errors.AsType[*client.APIError](s.Results[2].Err); !ok || ae.Code != client.CodeInvalidPackage {
		t.Errorf("n2: %v", s.Results[2].Err)
	}
	if s.Results[4].Err == nil {
		t.Error("missing.deb did not fail")
	}
}

func TestPushConflictInCheck(t *testing.T) {
	m := newMemPusher()
	m.hold("a\nold")
	m.hold("a\nnew")
	old := sha256.Sum256([]byte("a\nold"))
	m.link("main", hex.EncodeToString(old[:]), false)
	paths := pkgFiles(t, "a\nnew")
	s, err := Push(t.Context(), m, paths, Options{Project: "p", Branch: "main"})
	if err == nil || !strings.Contains(err.Error(), "conflict") || !strings.Contains(err.Error(), "n0.deb") {
		t.Fatalf("err = %v, want a conflict naming the file", err)
	}
	if s.Failed != 1 || m.uploads != 0 {
		t.Errorf("failed %d, uploads %d", s.Failed, m.uploads)
	}
	// With replace, the check links it.
	s, err = Push(t.Context(), m, paths, Options{Project: "p", Branch: "main", Replace: true})
	if err != nil || statuses(s) != "linked" {
		t.Fatalf("replace: %q, %v", statuses(s), err)
	}
}

func TestPushCheckFails(t *testing.T) {
	m := newMemPusher()
	m.failCheck = &client.APIError{Status: 401, Code: client.CodeUnauthorized, Message: "no token"}
	s, err := Push(t.Context(), m, pkgFiles(t, "a\n", "b\n"), Options{Project: "p", Branch: "main"})
	if err == nil || s.Failed != 2 || m.uploads != 0 {
		t.Fatalf("err %v, failed %d, uploads %d", err, s.Failed, m.uploads)
	}
	if !strings.Contains(err.Error(), "no token") {
		t.Errorf("err = %v", err)
	}
}

func TestPushSameContentTwice(t *testing.T) {
	m := newMemPusher()
	paths := pkgFiles(t, "a\nsame", "a\nsame")
	s, err := Push(t.Context(), m, paths, Options{Project: "p", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if m.uploads != 1 || m.checked != 1 || statuses(s) != "stored stored" || s.BytesSkipped != 6 {
		t.Errorf("%d uploads, %d checked, %q, skipped %d", m.uploads, m.checked, statuses(s), s.BytesSkipped)
	}
}

func TestPushUsesCache(t *testing.T) {
	m := newMemPusher()
	paths := pkgFiles(t, "a\n1", "b\n2", "c\n3")
	cachePath := filepath.Join(t.TempDir(), "hashes")
	c, _ := LoadCache(cachePath)
	s, err := Push(t.Context(), m, paths, Options{Project: "p", Branch: "main", Cache: c})
	if err != nil || s.Hashed != 3 || s.Cached != 0 || s.CacheErr != nil {
		t.Fatalf("first push: hashed %d, cached %d, %v, saving the cache: %v", s.Hashed, s.Cached, err, s.CacheErr)
	}
	writeOld(t, paths[1], []byte("b\n2 changed"))
	c, _ = LoadCache(cachePath)
	s, err = Push(t.Context(), m, paths, Options{Project: "p", Branch: "main", Cache: c, Replace: true})
	if err != nil || s.Hashed != 1 || s.Cached != 2 {
		t.Fatalf("second push: hashed %d, cached %d, %v", s.Hashed, s.Cached, err)
	}
	if got := statuses(s); got != "exists stored exists" {
		t.Errorf("statuses %q", got)
	}
}

func TestProgressLines(t *testing.T) {
	m := newMemPusher()
	m.hold("b\n2")
	var out bytes.Buffer
	paths := pkgFiles(t, "a\n1", "b\n2")
	_, err := Push(t.Context(), m, paths, Options{Project: "server", Branch: "feature/x", Progress: NewProgress(&out, false)})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", out.String())
	}
	files := strings.Join(lines[:2], "\n")
	if !strings.Contains(files, "stored  "+paths[0]+" (a") || !strings.Contains(files, "linked  "+paths[1]+" (3 B)") {
		t.Errorf("file lines:\n%s", files)
	}
	if !strings.HasPrefix(lines[2], "server@feature/x: 2 files: 1 stored, 1 linked, 0 exists, 0 failed; sent 3 B") ||
		!strings.Contains(lines[2], "skipped 3 B; hashed 2, 0 from cache") {
		t.Errorf("summary line: %s", lines[2])
	}
}

func TestProgressTerminal(t *testing.T) {
	m := newMemPusher()
	m.failFile["n1.deb"] = &client.APIError{Status: 400, Code: client.CodeInvalidPackage, Message: "bad"}
	var out bytes.Buffer
	Push(t.Context(), m, pkgFiles(t, "a\n1", "b\n2"), Options{Project: "p", Branch: "b", Progress: NewProgress(&out, true)})
	s := out.String()
	if !strings.Contains(s, "\r") || !strings.Contains(s, "failed  ") || !strings.HasSuffix(s, "\n") ||
		!strings.Contains(s, "p@b: 2 files: 1 stored, 0 linked, 0 exists, 1 failed") {
		t.Errorf("output %q", s)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPushCacheSaveFailsAlone(t *testing.T) {
	m := newMemPusher()
	paths := pkgFiles(t, "a\n1")
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := LoadCache(filepath.Join(blocker, "hashes")) // its folder is a file
	s, err := Push(t.Context(), m, paths, Options{Project: "p", Branch: "main", Cache: c})
	if err != nil || statuses(s) != "stored" {
		t.Fatalf("push: %q, %v", statuses(s), err)
	}
	if s.CacheErr == nil {
		t.Error("no error for a cache that cannot be written")
	}
}
