// Package pkgtest builds small packages of every format for tests, with
// packhouse's own builder.
package pkgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/spec"
)

// Spec describes a package to build.
type Spec struct {
	Name, Version string
	Release       string // "" is 1
	Arch          string // in nfpm's naming: amd64, arm64, all
	Depends       []string
	// Script, when set, is the package's post-install script.
	Script string
}

// Build builds s in format (a packhouse build packager name: deb, rpm,
// apk, archlinux) into a new directory and returns the file's path.
// Builds are reproducible: SOURCE_DATE_EPOCH is fixed.
func Build(t testing.TB, s Spec, format string, opts build.Options) string {
	t.Helper()
	dir := t.TempDir()
	rel := s.Release
	if rel == "" {
		rel = "1"
	}
	arch := s.Arch
	if arch == "" {
		arch = "amd64"
	}
	var y strings.Builder
	fmt.Fprintf(&y, "name: %s\nversion: %s\nrelease: %s\narch: %s\nmaintainer: Test <test@example.org>\n", s.Name, s.Version, rel, arch)
	fmt.Fprintf(&y, "description: %s for tests\nlicense: MIT\nhomepage: https://example.org/%s\n", s.Name, s.Name)
	if len(s.Depends) > 0 {
		y.WriteString("depends:\n")
		for _, d := range s.Depends {
			fmt.Fprintf(&y, "  - %s\n", d)
		}
	}
	y.WriteString("contents:\n  - src: ./payload\n    dst: /usr/share/" + s.Name + "/payload\n")
	if s.Script != "" {
		y.WriteString("scripts:\n  postinstall: ./postinst.sh\n")
		write(t, filepath.Join(dir, "postinst.sh"), "#!/bin/sh\n"+s.Script+"\n")
	}
	write(t, filepath.Join(dir, "payload"), s.Name+" "+s.Version+"\n")
	write(t, filepath.Join(dir, "nfpm.yaml"), y.String())
	sp, err := spec.Load(filepath.Join(dir, "nfpm.yaml"), spec.Options{LookupEnv: func(k string) (string, bool) {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), sp, []string{format}, nil, filepath.Join(dir, "out"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("built %d files, want 1", len(res))
	}
	return res[0].Path
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o755); err != nil {
		t.Fatal(err)
	}
}
