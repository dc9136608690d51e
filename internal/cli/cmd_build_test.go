package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildCommand(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"build", "-f", "../../testdata/nfpm-example/nfpm.yaml",
		"--packager", "deb,apk,archlinux,tar.gz", "--arch", "amd64,arm64", "--target", dir,
		"--key", "../apk/testdata/packhouse-test.rsa"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 {
		t.Errorf("printed %d files:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("printed %s, which does not exist", l)
		}
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "foo_1.0.0_arm64.deb")) {
		t.Errorf("no arm64 deb:\n%s", out.String())
	}
	// The nfpm example names a chglog changelog, which is not supported:
	// the build says so and goes on.
	if !strings.Contains(errb.String(), "changelog") {
		t.Errorf("no warning about the changelog key:\n%s", errb.String())
	}
}

func TestBuildCommandSpecError(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "nfpm.yaml")
	os.WriteFile(specPath, []byte("name: foo\narch: amd64\nversion: 1.0.0\nmaintainer: A <a@b.c>\ncontents:\n  - src: missing\n    dst: /usr/bin/missing\n"), 0o644)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"build", "-f", specPath, "--packager", "deb", "--target", dir}, &out, &errb)
	if code == 0 {
		t.Fatal("a missing source built")
	}
	if want := specPath + `:6: contents[0].src: "missing" does not exist`; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr %q, want it to contain %q", errb.String(), want)
	}
}

func TestBuildCommandUnknownPackager(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"build", "-f", "../../testdata/nfpm-example/nfpm.yaml", "--packager", "msi", "--target", t.TempDir()}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), `unknown packager "msi"`) {
		t.Errorf("exit %d, stderr %s", code, errb.String())
	}
}

func TestConvertCommand(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"build", "-f", "../../testdata/hello/nfpm.yaml", "--packager", "deb", "--target", dir}, &out, &errb); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errb.String())
	}
	debPath := strings.TrimSpace(out.String())
	out.Reset()
	errb.Reset()
	code := run(context.Background(), []string{"convert", "--to", "rpm,apk,archlinux", "--target", dir, debPath}, &out, &errb)
	if code != 0 {
		t.Fatalf("convert: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"hello-packhouse-1.2.3-1.x86_64.rpm", "hello-packhouse_1.2.3-r1_x86_64.apk", "hello-packhouse-1.2.3-1-x86_64.pkg.tar.zst"} {
		if !strings.Contains(out.String(), filepath.Join(dir, want)) {
			t.Errorf("no %s in\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "postrm is never called with purge") {
		t.Errorf("notes:\n%s", errb.String())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
