package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A branch of one project sees another project's default branch: apt
// installs, into a throwaway Debian root, a package pushed to a feature
// branch whose dependency lives only in another project.
func TestAptInstallAcrossProjects(t *testing.T) {
	need(t, "apt-get", "dpkg-deb")
	root := debianRoot(t)
	s := startServer(t)
	s.ph("project", "create", "deps", "--default-branch", "main", "--repo", "product")
	s.ph("project", "create", "server", "--default-branch", "master", "--repo", "product")

	debs := t.TempDir()
	lib := buildDeb(t, debs, debSpec{name: "libgreet", version: "1.0", arch: "all",
		files: map[string]string{"usr/share/libgreet/greeting": "hello from libgreet\n"}})
	s.ph("push", "--project", "deps", "--branch", "main", lib)
	app := buildDeb(t, debs, debSpec{name: "greeter", version: "2.0", arch: "amd64", depends: "libgreet (>= 1.0)",
		files:    map[string]string{"usr/bin/greeter": "#!/bin/sh\ncat /usr/share/libgreet/greeting\n"},
		postinst: "#!/bin/sh\nset -e\nmkdir -p /var/lib/greeter\necho configured > /var/lib/greeter/state\n"})
	s.ph("push", "--project", "server", "--branch", "feature/login", app)

	// Inside the root, apt reads the .sources stanza packhouse prints,
	// checks the signature with the key embedded there, and resolves the
	// dependency from the other project.
	sources := s.ph("apt-source", "product", "feature/login")
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list.d/product.sources"), []byte(sources), 0o644); err != nil {
		t.Fatal(err)
	}
	out := inRoot(t, root, "apt-get", "update")
	if strings.Contains(out, "W: ") || strings.Contains(out, "E: ") {
		t.Fatalf("apt-get update in the root:\n%s", out)
	}
	inRoot(t, root, "apt-get", "install", "-y", "--no-install-recommends", "greeter")
	if got := inRoot(t, root, "greeter"); got != "hello from libgreet\n" {
		t.Errorf("greeter printed %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(root, "var/lib/greeter/state")); err != nil || string(b) != "configured\n" {
		t.Errorf("postinst did not run: %q %v", b, err)
	}
	status := inRoot(t, root, "dpkg-query", "-W", "-f", "${Package}=${Version}\n", "greeter", "libgreet")
	if status != "greeter=2.0\nlibgreet=1.0\n" {
		t.Errorf("installed: %q", status)
	}

	// Another push to the branch: apt sees the new version.
	a := newApt(t, s, "product", "feature/login")
	a.update()
	if v := a.candidate("greeter"); v != "2.0" {
		t.Fatalf("candidate before push: %q", v)
	}
	s.ph("push", "--project", "server", "--branch", "feature/login",
		buildDeb(t, debs, debSpec{name: "greeter", version: "2.1", arch: "amd64", depends: "libgreet"}))
	a.update()
	if v := a.candidate("greeter"); v != "2.1" {
		t.Fatalf("candidate after push: %q", v)
	}
	// The default branches do not see the feature branch's package.
	for _, suite := range []string{"master", "main"} {
		d := newApt(t, s, "product", suite)
		d.update()
		if v := d.candidate("greeter"); v != "(none)" {
			t.Errorf("%s sees greeter %q", suite, v)
		}
		if v := d.candidate("libgreet"); v != "1.0" {
			t.Errorf("%s sees libgreet %q", suite, v)
		}
	}
}

// While pushes publish new indexes, clients updating at the same time
// never see a hash mismatch: they fetch indexes by hash, and the files an
// earlier Release named stay served.
func TestAptUpdateDuringPushes(t *testing.T) {
	need(t, "apt-get", "dpkg-deb")
	s := startServer(t)
	s.ph("project", "create", "server", "--default-branch", "main", "--repo", "product")
	debs := t.TempDir()
	const pushes = 25
	var files []string
	for i := range pushes {
		files = append(files, buildDeb(t, debs, debSpec{name: fmt.Sprintf("pkg%02d", i%5), version: fmt.Sprintf("1.%d", i), arch: "amd64",
			files: map[string]string{"usr/share/doc/x": strings.Repeat("x", i*1000)}}))
	}
	s.ph("push", "--project", "server", "--branch", "main", files[0])

	clients := []*apt{newApt(t, s, "product", "main"), newApt(t, s, "product", "main")}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	updates := 0
	for _, a := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := a.run("update")
				mu.Lock()
				updates++
				if err != nil || strings.Contains(out, "W: ") || strings.Contains(out, "E: ") || strings.Contains(strings.ToLower(out), "mismatch") {
					failures = append(failures, fmt.Sprintf("%v\n%s", err, out))
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range files[1:] {
		s.ph("push", "--project", "server", "--branch", "main", f)
		// Publish at once, as a reader would make it.
		if _, err := s.phErr("apt-source", "product", "main"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d updates failed; first:\n%s", len(failures), updates, failures[0])
	}
	t.Logf("%d apt-get updates during %d pushes, none failed", updates, pushes)
}

// Pushing files the server already holds sends no body.
func TestPushKnownFilesSendsNoBody(t *testing.T) {
	need(t, "dpkg-deb")
	s := startServer(t)
	s.ph("project", "create", "server", "--default-branch", "main", "--repo", "product")
	debs := t.TempDir()
	for i := range 20 {
		buildDeb(t, debs, debSpec{name: fmt.Sprintf("p%02d", i), version: "1", arch: "all", files: map[string]string{"data": strings.Repeat("y", 10000+i)}})
	}
	var total int64
	entries, _ := os.ReadDir(debs)
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	s.ph("push", "--project", "server", "--branch", "main", debs)
	sent := s.metric("packhouse_push_body_bytes_total")
	if int64(sent) != total {
		t.Fatalf("first push: server received %v body bytes, the files hold %d", sent, total)
	}
	out := s.ph("push", "--project", "server", "--branch", "feature/x", debs)
	if after := s.metric("packhouse_push_body_bytes_total"); after != sent {
		t.Fatalf("pushing known files to a new branch sent %v body bytes:\n%s", after-sent, out)
	}
	if got := s.ph("package", "list", "server", "--branch", "feature/x"); strings.Count(got, "\n") != 21 {
		t.Fatalf("feature/x holds:\n%s", got)
	}
}
