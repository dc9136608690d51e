package push

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIsPackageName(t *testing.T) {
	for name, want := range map[string]bool{
		"hello_1.0-1_amd64.deb":              true,
		"hello-udeb_1.0_amd64.udeb":          true,
		"hello-1.0-1.el9.x86_64.rpm":         true,
		"hello-1.0-1.src.rpm":                true,
		"hello-1.0-r0.apk":                   true,
		"hello-1.0-1-x86_64.pkg.tar.zst":     true,
		"hello-1.0-1-x86_64.pkg.tar.xz":      true,
		"hello-1.0-1-x86_64.pkg.tar.zst.sig": false,
		"bundle-24.08.tar.xz":                true,
		"hello.tar.gz":                       false,
		"README.md":                          false,
		"hello.deb.sha256":                   false,
	} {
		if got := IsPackageName(name); got != want {
			t.Errorf("IsPackageName(%q) = %v", name, got)
		}
	}
}

func TestExpandPaths(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := mk("out/b_1.0_amd64.deb")
	a := mk("out/RPMS/x86_64/a-1.0-1.x86_64.rpm")
	mk("out/a.deb.sha256")
	mk("out/.cache/c.deb")
	mk("out/x-1-1-any.pkg.tar.zst.sig")
	x := mk("out/x-1-1-any.pkg.tar.zst")
	notes := mk("notes.txt")
	os.Symlink(b, filepath.Join(dir, "out", "link.deb"))
	mk("empty/readme")

	got, err := ExpandPaths([]string{filepath.Join(dir, "out"), notes, b})
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out", "link.deb")
	want := []string{a, b, link, x, notes}
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	if _, err := ExpandPaths([]string{filepath.Join(dir, "empty")}); err == nil || !strings.Contains(err.Error(), "no package files") {
		t.Errorf("a directory without packages: err = %v", err)
	}
	if _, err := ExpandPaths([]string{filepath.Join(dir, "nope.deb")}); err == nil {
		t.Error("a missing file: no error")
	}
}
