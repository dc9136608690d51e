package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/testtool"
)

var binary string // the packhouse binary under test

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "packhouse-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "packhouse")
	build := exec.Command("go", "build", "-o", binary, "./cmd/packhouse")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build packhouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need skips the test when a tool is missing, or fails it in CI.
func need(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Need(t, tools...)
	testtool.NeedRoot(t)
}

// server is a running `packhouse serve`.
type server struct {
	t     *testing.T
	url   string
	token string
	data  string
	cmd   *exec.Cmd
	log   *bytes.Buffer
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	data := t.TempDir()
	addr := freePort(t)
	s := &server{t: t, url: "http://" + addr, data: data, log: &bytes.Buffer{}}
	s.cmd = exec.Command(binary, append([]string{"serve", "--listen", addr, "--data", data}, args...)...)
	stdout, _ := s.cmd.StdoutPipe()
	s.cmd.Stderr = &syncWriter{w: s.log}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first start prints the admin token.
	tokenRE := regexp.MustCompile(`phk_[0-9a-f]{64}`)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := tokenRE.FindString(sc.Text()); m != "" {
			s.token = m
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if s.token == "" {
		t.Fatalf("no admin token printed; log:\n%s", s.log)
	}
	for i := 0; ; i++ {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			t.Fatalf("server did not come up: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// stop shuts the server down with SIGTERM and checks that it exits cleanly.
func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("server exited with %v; log:\n%s", err, s.log)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Errorf("server did not stop on SIGTERM")
	}
}

// ph runs the packhouse CLI against the server and returns its stdout.
func (s *server) ph(args ...string) string {
	s.t.Helper()
	out, err := s.phErr(args...)
	if err != nil {
		s.t.Fatalf("packhouse %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *server) phErr(args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "PACKHOUSE_URL="+s.url, "PACKHOUSE_TOKEN="+s.token,
		"PACKHOUSE_HASH_CACHE="+filepath.Join(s.data, "client-hash-cache"))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// metric reads one counter from /metrics.
func (s *server) metric(name string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// debSpec is a package built with the real dpkg-deb.
type debSpec struct {
	name, version, arch, depends string
	files                        map[string]string
	postinst                     string
}

func buildDeb(t *testing.T, dir string, d debSpec) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), d.name)
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.org>\n", d.name, d.version, d.arch)
	if d.depends != "" {
		control += "Depends: " + d.depends + "\n"
	}
	control += "Description: " + d.name + " for an end-to-end test\n made by dpkg-deb\n"
	os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644)
	if d.postinst != "" {
		os.WriteFile(filepath.Join(root, "DEBIAN", "postinst"), []byte(d.postinst), 0o755)
	}
	for p, c := range d.files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		mode := os.FileMode(0o644)
		if strings.Contains(p, "bin/") {
			mode = 0o755
		}
		os.WriteFile(full, []byte(c), mode)
	}
	out := filepath.Join(dir, fmt.Sprintf("%s_%s_%s.deb", d.name, d.version, d.arch))
	if b, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", root, out).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	return out
}

// apt is the host's apt-get with its own configuration, state and cache,
// pointed at one repository view; it never touches the machine's own.
type apt struct {
	t    *testing.T
	dir  string
	opts []string
}

func newApt(t *testing.T, s *server, repo, suite string) *apt {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"state/lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d", "etc/apt.conf.d"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "status"), nil, 0o644)
	sources := s.ph("apt-source", repo, suite)
	os.WriteFile(filepath.Join(dir, "etc/sources.list.d/packhouse.sources"), []byte(sources), 0o644)
	a := &apt{t: t, dir: dir}
	a.opts = []string{
		"-o", "Dir::Etc=" + filepath.Join(dir, "etc"),
		"-o", "Dir::Etc::sourcelist=/dev/null",
		"-o", "Dir::Etc::sourceparts=" + filepath.Join(dir, "etc/sources.list.d"),
		"-o", "Dir::Etc::trusted=/dev/null",
		"-o", "Dir::Etc::trustedparts=" + filepath.Join(dir, "etc/trusted.gpg.d"),
		"-o", "Dir::State=" + filepath.Join(dir, "state"),
		"-o", "Dir::State::status=" + filepath.Join(dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Languages=none",
		"-o", "APT::Architecture=amd64",
	}
	return a
}

func (a *apt) run(args ...string) (string, error) {
	cmd := exec.Command("apt-get", append(a.opts, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (a *apt) update() string {
	a.t.Helper()
	out, err := a.run("update")
	if err != nil || strings.Contains(out, "W: ") || strings.Contains(out, "E: ") {
		a.t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	return out
}

// candidate is the version apt would install.
func (a *apt) candidate(pkg string) string {
	a.t.Helper()
	cmd := exec.Command("apt-cache", append(a.opts, "policy", pkg)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		a.t.Fatalf("apt-cache policy: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate: "); ok {
			return v
		}
	}
	return "(none)" // apt-cache prints nothing for a package it does not know
}

// debianRoot returns a fresh minimal Debian root. mmdebstrap makes one
// tarball per machine (it takes some 20 s and needs Debian's mirror);
// each test unpacks its own copy.
func debianRoot(t *testing.T) string {
	t.Helper()
	need(t, "mmdebstrap", "tar", "chroot")
	cache := os.Getenv("PACKHOUSE_E2E_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "packhouse-e2e-cache")
	}
	tarball := filepath.Join(cache, "bookworm-minbase.tar")
	rootOnce.Do(func() {
		if _, err := os.Stat(tarball); err == nil {
			return
		}
		os.MkdirAll(cache, 0o755)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		// mmdebstrap picks the output format by the name's extension.
		tmp := filepath.Join(cache, "partial-bookworm-minbase.tar")
		out, err := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase", "--quiet", "bookworm", tmp).CombinedOutput()
		if err != nil {
			rootErr = fmt.Errorf("mmdebstrap: %v\n%s", err, out)
			return
		}
		rootErr = os.Rename(tmp, tarball)
	})
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	dir := filepath.Join(t.TempDir(), "root")
	os.MkdirAll(dir, 0o755)
	if out, err := exec.Command("tar", "-C", dir, "-xf", tarball).CombinedOutput(); err != nil {
		t.Fatalf("unpack root: %v\n%s", err, out)
	}
	// Only the repository under test: no mirror is reached from inside.
	os.Remove(filepath.Join(dir, "etc/apt/sources.list"))
	os.RemoveAll(filepath.Join(dir, "etc/apt/sources.list.d"))
	os.MkdirAll(filepath.Join(dir, "etc/apt/sources.list.d"), 0o755)
	return dir
}

var (
	rootOnce sync.Once
	rootErr  error
)

func inRoot(t *testing.T, root string, args ...string) string {
	t.Helper()
	cmd := exec.Command("chroot", append([]string{root}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chroot %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
