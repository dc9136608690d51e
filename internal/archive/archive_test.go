package archive

import (
	"bytes"
	"context"
	"github.com/packhouse/packhouse/internal/testtool"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/spec"
)

func resolve(t *testing.T) *spec.Package {
	t.Helper()
	s, err := spec.Load("../../testdata/hello/nfpm.yaml", spec.Options{LookupEnv: func(k string) (string, bool) {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(spec.FormatArchive, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t *testing.T, kind string) (string, []byte) {
	t.Helper()
	p := resolve(t)
	name, err := FileName(p, kind)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(context.Background(), &b, p, WriteOptions{Kind: kind}); err != nil {
		t.Fatal(err)
	}
	return name, b.Bytes()
}

// TestListings reads each archive back with the system's own tools.
func TestListings(t *testing.T) {
	cases := []struct {
		kind, tool string
		args       []string
		name       string
	}{
		{TarXz, "tar", []string{"-tvJf"}, "hello-packhouse_1.2.3_linux_amd64.tar.xz"},
		{TarGz, "tar", []string{"-tvzf"}, "hello-packhouse_1.2.3_linux_amd64.tar.gz"},
		{Zip, "unzip", []string{"-Z"}, "hello-packhouse_1.2.3_linux_amd64.zip"},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			testtool.Need(t, c.tool)
			name, data := build(t, c.kind)
			if name != c.name {
				t.Errorf("name %s, want %s", name, c.name)
			}
			f := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(f, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(c.tool, append(c.args, f)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.tool, err, out)
			}
			for _, want := range []string{"usr/bin/hello-packhouse", "usr/bin/hi-packhouse", "etc/hello-packhouse.conf", "var/lib/hello-packhouse/"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("listing lacks %s:\n%s", want, out)
				}
			}
			if !strings.Contains(string(out), "rwxr-xr-x") {
				t.Errorf("modes lost:\n%s", out)
			}
			if a, b := data, func() []byte { _, d := build(t, c.kind); return d }(); !bytes.Equal(a, b) {
				t.Error("two builds differ")
			}
		})
	}
}
