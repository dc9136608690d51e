package debtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/deb"
)

func TestMakeReadable(t *testing.T) {
	b := Make(Spec{Name: "hello", Version: "1.0-1", Arch: "amd64", Depends: "libc6", Files: map[string]string{"usr/bin/hello": "#!/bin/sh\necho hi\n"}})
	p, err := deb.Read(bytes.NewReader(b), deb.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "hello" || p.Version != "1.0-1" || p.Architecture != "amd64" {
		t.Fatalf("read %+v", p)
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	path := filepath.Join(t.TempDir(), "hello.deb")
	os.WriteFile(path, b, 0o644)
	out, err := exec.Command("dpkg-deb", "--contents", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "./usr/bin/hello") {
		t.Fatalf("dpkg-deb --contents: %v\n%s", err, out)
	}
}
