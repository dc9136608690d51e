package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// packhouse build --push: a deb made from an nfpm spec goes straight to a
// branch, and apt sees it there.
func TestBuildPush(t *testing.T) {
	need(t, "apt-get")
	s := startServer(t)
	s.ph("project", "create", "tools", "--default-branch", "main", "--repo", "product")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.sh"), []byte("#!/bin/sh\necho hello\n"), 0o755)
	spec := `name: hello-build
arch: amd64
platform: linux
version: 1.2.3
release: 1
maintainer: Test <test@example.org>
description: built and pushed by packhouse build
contents:
  - src: ./hello.sh
    dst: /usr/bin/hello-build
    file_info:
      mode: 0755
`
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(spec), 0o644)
	out := s.ph("build", "-f", filepath.Join(dir, "nfpm.yaml"), "--packager", "deb", "--target", filepath.Join(dir, "dist"),
		"--push", "--project", "tools", "--branch", "feature/cli")
	if !strings.Contains(out, "hello-build_1.2.3-1_amd64.deb") {
		t.Fatalf("build output:\n%s", out)
	}
	a := newApt(t, s, "product", "feature/cli")
	a.update()
	if v := a.candidate("hello-build"); v != "1.2.3-1" {
		t.Fatalf("apt sees hello-build %q on feature/cli", v)
	}
}
