package arch

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

func needTool(t *testing.T, name string) {
	t.Helper()
	testtool.Need(t, name)
}

func resolve(t *testing.T, specPath string) *spec.Package {
	t.Helper()
	s, err := spec.Load(specPath, spec.Options{LookupEnv: func(k string) (string, bool) {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(spec.FormatArchLinux, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, p *spec.Package, dir string) string {
	t.Helper()
	name, err := FileName(p)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), f, p, WriteOptions{BuildToolVersion: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPacmanQuery(t *testing.T) {
	needTool(t, "pacman")
	p := resolve(t, "../../testdata/hello/nfpm.yaml")
	pkg := write(t, p, t.TempDir())
	if filepath.Base(pkg) != "hello-packhouse-1.2.3-1-x86_64.pkg.tar.zst" {
		t.Errorf("file name %s", filepath.Base(pkg))
	}
	info := run(t, "pacman", "-Qip", pkg)
	for _, want := range []string{
		"Name            : hello-packhouse", "Version         : 1.2.3-1", "Architecture    : x86_64",
		"Description     : greets the world, to test packhouse's deb writer",
		"Packager        : Packhouse Tests <tests@packhouse.example>",
		"URL             : https://packhouse.example/hello", "Licenses        : MIT",
		"Install Script  : Yes", "Build Date      : Tue Nov 14 22:13:20 2023",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("pacman -Qip lacks %q:\n%s", want, info)
		}
	}
	files := run(t, "pacman", "-Qlp", pkg)
	for _, want := range []string{"hello-packhouse /usr/bin/hello-packhouse\n", "hello-packhouse /var/lib/hello-packhouse/\n"} {
		if !strings.Contains(files, want) {
			t.Errorf("pacman -Qlp lacks %q:\n%s", want, files)
		}
	}
}

// TestPacmanInstall installs into a throwaway root. pacman runs scriptlets
// chrooted into the root with /bin/sh, so the root gets a copy of the
// host's shell and the libraries it links.
func TestPacmanInstall(t *testing.T) {
	needTool(t, "pacman")
	needTool(t, "ldd")
	// pacman -U --root chroots to run scriptlets.
	testtool.NeedRoot(t)
	p := resolve(t, "../../testdata/hello/nfpm.yaml")
	pkg := write(t, p, t.TempDir())
	root := t.TempDir()
	for _, d := range []string{"var/lib/pacman", "var/log", "var/cache/pacman/pkg", "tmp", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyShell(t, root)
	pacman := func(args ...string) string {
		base := []string{"--root", root, "--dbpath", filepath.Join(root, "var/lib/pacman"), "--noconfirm",
			"--cachedir", filepath.Join(root, "var/cache/pacman/pkg"), "--logfile", filepath.Join(root, "var/log/pacman.log"),
			"--disable-download-timeout"}
		return run(t, "pacman", append(args, base...)...)
	}
	pacman("-U", pkg)
	got, err := os.ReadFile(filepath.Join(root, "usr/bin/hello-packhouse"))
	if err != nil || !strings.Contains(string(got), "Hello, world!") {
		t.Fatalf("installed binary: %q, %v", got, err)
	}
	if q := pacman("-Q", "hello-packhouse"); q != "hello-packhouse 1.2.3-1\n" {
		t.Errorf("pacman -Q: %q", q)
	}
	// -Qkk checks the installed files against .MTREE: sizes, modes,
	// times and digests.
	if check := pacman("-Qkk", "hello-packhouse"); !strings.Contains(check, "0 altered files") || strings.Contains(check, "mtree") {
		t.Errorf("pacman -Qkk:\n%s", check)
	}
	// And it does read them: the same size with other bytes is caught.
	bin := filepath.Join(root, "usr/bin/hello-packhouse")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("x"), len(got)), 0o755); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("pacman", "-Qkk", "hello-packhouse", "--root", root, "--dbpath", filepath.Join(root, "var/lib/pacman")).CombinedOutput()
	if !strings.Contains(string(out), "checksum mismatch") {
		t.Errorf("pacman -Qkk missed a changed file:\n%s", out)
	}
	pacman("-R", "hello-packhouse")
	log, err := os.ReadFile(filepath.Join(root, "var/log/hello-packhouse-scripts.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := "preinstall 1.2.3-1\npostinstall 1.2.3-1\npreremove 1.2.3-1\npostremove 1.2.3-1\n"
	if string(log) != want {
		t.Errorf("scriptlets ran as\n%s\nwant\n%s", log, want)
	}
}

func copyShell(t *testing.T, root string) {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{sh}
	out := run(t, "ldd", sh)
	for _, line := range strings.Split(out, "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				files = append(files, f)
			}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, f)
		if f == sh {
			dst = filepath.Join(root, "bin/sh")
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReproducible(t *testing.T) {
	a, _ := os.ReadFile(write(t, resolve(t, "../../testdata/hello/nfpm.yaml"), t.TempDir()))
	b, _ := os.ReadFile(write(t, resolve(t, "../../testdata/hello/nfpm.yaml"), t.TempDir()))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("two builds differ")
	}
}

func TestMtreeEscape(t *testing.T) {
	if got := mtreeEscape("a b#c=d\\e\x01é"); got != `a\040b\043c\075d\134e\001\303\251` {
		t.Errorf("got %s", got)
	}
}
