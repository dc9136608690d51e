package deb

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/spec"
	"github.com/packhouse/packhouse/internal/testtool"
)

// writeNeedTool skips when a tool is missing, except in CI, where the
// acceptance tests must run.
func writeNeedTool(t *testing.T, name string) string {
	t.Helper()
	return testtool.Path(t, name)
}

func writeResolve(t *testing.T, specPath, arch string, env map[string]string) *spec.Package {
	t.Helper()
	if env == nil {
		env = map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	}
	s, err := spec.Load(specPath, spec.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(spec.FormatDeb, arch)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeTo(t *testing.T, p *spec.Package, dir string) string {
	t.Helper()
	name, err := WriteFileName(p)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), f, p, WriteOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestWriteDpkgDeb(t *testing.T) {
	writeNeedTool(t, "dpkg-deb")
	for _, comp := range []string{"gzip", "xz", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			p := writeResolve(t, "../../testdata/hello/nfpm.yaml", "", nil)
			p.Compression = comp
			deb := writeTo(t, p, t.TempDir())
			if filepath.Base(deb) != "hello-packhouse_1.2.3-1_amd64.deb" {
				t.Errorf("file name %s", filepath.Base(deb))
			}
			info := writeRun(t, "dpkg-deb", "--info", deb)
			for _, want := range []string{
				"Package: hello-packhouse", "Version: 1.2.3-1", "Architecture: amd64",
				"Maintainer: Packhouse Tests <tests@packhouse.example>",
				"Description: greets the world, to test packhouse's deb writer",
				" hello-packhouse prints a greeting.", "postinst", "conffiles", "md5sums",
			} {
				if !strings.Contains(info, want) {
					t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
				}
			}
			contents := writeRun(t, "dpkg-deb", "--contents", deb)
			for _, want := range []string{
				"-rwxr-xr-x root/root        31 2023-11-14 22:13 ./usr/bin/hello-packhouse",
				"lrwxrwxrwx root/root         0 2023-11-14 22:13 ./usr/bin/hi-packhouse -> hello-packhouse",
				"drwxr-xr-x root/root         0 2023-11-14 22:13 ./var/lib/hello-packhouse/",
				"-rw-r--r-- root/root        47 2023-11-14 22:13 ./etc/hello-packhouse.conf",
			} {
				if !strings.Contains(contents, want) {
					t.Errorf("dpkg-deb --contents lacks %q:\n%s", want, contents)
				}
			}
			conf := writeRun(t, "dpkg-deb", "--info", deb, "conffiles")
			if conf != "/etc/hello-packhouse.conf\n" {
				t.Errorf("conffiles %q", conf)
			}
			// Both archives compressed alike, as dpkg-deb -Z makes them.
			f, err := os.Open(deb)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Read(f, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			ext := strings.TrimPrefix(compression.Extension(comp), ".")
			if got.ControlCompression != ext || got.DataCompression != ext {
				t.Errorf("control.tar compressed %q, data.tar %q; want %q", got.ControlCompression, got.DataCompression, ext)
			}
		})
	}
}

// TestWriteLintian runs lintian on the well-formed spec; it must report no
// errors. The warnings it still gives are listed in docs/build.md.
func TestWriteLintian(t *testing.T) {
	writeNeedTool(t, "lintian")
	p := writeResolve(t, "../../testdata/hello/nfpm.yaml", "", nil)
	deb := writeTo(t, p, t.TempDir())
	cmd := exec.Command("lintian", "--no-cfg", "--display-level", ">=warning", deb)
	out, err := cmd.CombinedOutput()
	t.Logf("lintian:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") {
			t.Errorf("lintian error: %s", line)
		}
	}
	if err != nil && !strings.Contains(string(out), "W: ") {
		t.Errorf("lintian failed: %v", err)
	}
}

// TestWriteDpkgInstall installs into a throwaway root. dpkg normally
// chroots into --root to run maintainer scripts, which needs a shell
// there; --force-script-chrootless runs them in place with DPKG_ROOT set
// instead, which is what the test scripts write their log under.
func TestWriteDpkgInstall(t *testing.T) {
	writeNeedTool(t, "dpkg")
	p := writeResolve(t, "../../testdata/hello/nfpm.yaml", "", nil)
	deb := writeTo(t, p, t.TempDir())
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "var/lib/dpkg/triggers", "var/log"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		base := []string{"--root=" + root, "--force-not-root", "--force-script-chrootless", "--force-unsafe-io", "--log=/dev/null"}
		cmd := exec.Command("dpkg", append(base, args...)...)
		cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	dpkg("-i", deb)
	got, err := os.ReadFile(filepath.Join(root, "usr/bin/hello-packhouse"))
	if err != nil || !strings.Contains(string(got), "Hello, world!") {
		t.Fatalf("installed binary: %q, %v", got, err)
	}
	if link, err := os.Readlink(filepath.Join(root, "usr/bin/hi-packhouse")); err != nil || link != "hello-packhouse" {
		t.Errorf("symlink: %q, %v", link, err)
	}
	status := dpkg("-s", "hello-packhouse")
	if !strings.Contains(status, "Status: install ok installed") {
		t.Errorf("dpkg -s:\n%s", status)
	}
	dpkg("--purge", "hello-packhouse")
	log, err := os.ReadFile(filepath.Join(root, "var/log/hello-packhouse-scripts.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := "preinstall install\npostinstall configure \npreremove remove\npostremove remove\npostremove purge\n"
	if string(log) != want {
		t.Errorf("maintainer scripts ran as\n%s\nwant\n%s", log, want)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/hello-packhouse")); !os.IsNotExist(err) {
		t.Errorf("binary still there after purge: %v", err)
	}
}

func TestWriteReproducible(t *testing.T) {
	p := writeResolve(t, "../../testdata/hello/nfpm.yaml", "", nil)
	a, err := os.ReadFile(writeTo(t, p, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p2 := writeResolve(t, "../../testdata/hello/nfpm.yaml", "", nil)
	b, err := os.ReadFile(writeTo(t, p2, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two builds differ")
	}
}

func TestWriteNfpmExample(t *testing.T) {
	writeNeedTool(t, "dpkg-deb")
	p := writeResolve(t, "../../testdata/nfpm-example/nfpm.yaml", "", nil)
	deb := writeTo(t, p, t.TempDir())
	info := writeRun(t, "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: foo", "Depends: foo, bar", "Replaces: foobar", "Provides: bar",
		"Conflicts: not-foo, not-bar", "Recommends: whatever", "Suggests: something-else", " And this can be in multiple lines!"} {
		if !strings.Contains(info, want) {
			t.Errorf("lacks %q:\n%s", want, info)
		}
	}
	contents := writeRun(t, "dpkg-deb", "--contents", deb)
	if !strings.Contains(contents, "./sbin/foo -> /usr/bin/foo") {
		t.Errorf("contents:\n%s", contents)
	}
}

func TestWriteControlField(t *testing.T) {
	p := &spec.Package{Name: "x", Version: "1", Arch: "all", Maintainer: "a\nb"}
	if _, err := buildControlFile(p, "1", 0); err == nil {
		t.Error("a two-line maintainer was accepted")
	}
}
