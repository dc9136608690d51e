package build

import (
	"bytes"
	"context"
	"fmt"
	"github.com/packhouse/packhouse/internal/testtool"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/packhouse/packhouse/internal/apk"
	"github.com/packhouse/packhouse/internal/spec"
)

func load(t *testing.T, path string, env map[string]string) *spec.Spec {
	t.Helper()
	s, err := spec.Load(path, spec.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// copyDir copies a spec directory, giving every file the mtime "at", so
// that two copies differ in path and time but not in content.
func copyDir(t *testing.T, src, dst string, at time.Time) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(target, at, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

var allFormats = []string{"deb", "rpm", "apk", "archlinux", "tar.xz", "tar.gz", "zip"}

func TestBuildAllFormatsAndArches(t *testing.T) {
	s := load(t, "../../testdata/nfpm-example/nfpm.yaml", map[string]string{"SOURCE_DATE_EPOCH": "1700000000"})
	dir := t.TempDir()
	res, err := Build(context.Background(), s, allFormats, []string{"amd64", "arm64", "arm7", "386"}, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res {
		names = append(names, filepath.Base(r.Path))
		if r.Size == 0 {
			t.Errorf("%s is empty", r.Path)
		}
	}
	sort.Strings(names)
	want := []string{
		"foo-1.0.0-1-aarch64.pkg.tar.zst", "foo-1.0.0-1-armv7h.pkg.tar.zst", "foo-1.0.0-1-i686.pkg.tar.zst", "foo-1.0.0-1-x86_64.pkg.tar.zst",
		"foo-1.0.0-1.aarch64.rpm", "foo-1.0.0-1.armv7hl.rpm", "foo-1.0.0-1.i686.rpm", "foo-1.0.0-1.x86_64.rpm",
		"foo_1.0.0-r0_aarch64.apk", "foo_1.0.0-r0_armv7.apk", "foo_1.0.0-r0_x86.apk", "foo_1.0.0-r0_x86_64.apk",
		"foo_1.0.0_amd64.deb", "foo_1.0.0_arm64.deb", "foo_1.0.0_armhf.deb", "foo_1.0.0_i386.deb",
		"foo_1.0.0_linux_386.tar.gz", "foo_1.0.0_linux_386.tar.xz", "foo_1.0.0_linux_386.zip",
		"foo_1.0.0_linux_amd64.tar.gz", "foo_1.0.0_linux_amd64.tar.xz", "foo_1.0.0_linux_amd64.zip",
		"foo_1.0.0_linux_arm64.tar.gz", "foo_1.0.0_linux_arm64.tar.xz", "foo_1.0.0_linux_arm64.zip",
		"foo_1.0.0_linux_armv7.tar.gz", "foo_1.0.0_linux_armv7.tar.xz", "foo_1.0.0_linux_armv7.zip",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(want) {
		t.Errorf("%d files in the target directory, want %d (temporary files left?)", len(entries), len(want))
	}
}

// TestReproducibleBuilds builds the same spec from two directories, with
// different file times, a second apart, and wants the same bytes in every
// format.
func TestReproducibleBuilds(t *testing.T) {
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	build := func(at time.Time) map[string][]byte {
		src := t.TempDir()
		copyDir(t, "../../testdata/hello", src, at)
		s := load(t, filepath.Join(src, "nfpm.yaml"), env)
		out := t.TempDir()
		key, err := os.ReadFile("../apk/testdata/packhouse-test.rsa")
		if err != nil {
			t.Fatal(err)
		}
		k, err := apk.ParsePrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Build(context.Background(), s, allFormats, []string{"amd64", "arm64"}, out, Options{APKKey: k})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, r := range res {
			data, err := os.ReadFile(r.Path)
			if err != nil {
				t.Fatal(err)
			}
			files[filepath.Base(r.Path)] = data
		}
		return files
	}
	a := build(time.Now().Add(-48 * time.Hour))
	time.Sleep(1100 * time.Millisecond)
	b := build(time.Now())
	if len(a) != 14 || len(a) != len(b) {
		t.Fatalf("%d and %d files", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between the two builds", name)
		}
	}
}

func TestBuildReportsSpecErrorsFirst(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte("name: foo\narch: amd64\nversion: 1.0.0\nmaintainer: A <a@b.c>\nprerelease: nightly\n"), 0o644)
	s := load(t, filepath.Join(dir, "nfpm.yaml"), nil)
	out := t.TempDir()
	_, err := Build(context.Background(), s, []string{"deb", "apk"}, nil, out, Options{})
	if err == nil || !strings.Contains(err.Error(), "apk cannot hold this prerelease") {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("the deb was written before the apk error was found: %v", entries)
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"deb", "RPM", "archive", "arch", "zip"} {
		if _, err := Lookup(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Lookup("msi"); err == nil {
		t.Error("msi accepted")
	}
}

// TestRPMSignatureFromSpec signs with the key rpm.signature.key_file
// names, encrypted, with nfpm's passphrase variable, as a GoReleaser
// setup has it.
func TestRPMSignatureFromSpec(t *testing.T) {
	e, err := openpgp.NewEntity("Packhouse Test", "", "test@packhouse.example", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EncryptPrivateKeys([]byte("secret"), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyDir(t, "../../testdata/hello", dir, time.Now())
	var key bytes.Buffer
	w, _ := armor.Encode(&key, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	os.WriteFile(filepath.Join(dir, "rpm.key"), key.Bytes(), 0o600)
	specYAML, _ := os.ReadFile(filepath.Join(dir, "nfpm.yaml"))
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), append(specYAML, "rpm:\n  signature:\n    key_file: rpm.key\n"...), 0o644)
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	s := load(t, filepath.Join(dir, "nfpm.yaml"), env)
	out := t.TempDir()
	if _, err := Build(context.Background(), s, []string{"rpm"}, nil, out, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("without a passphrase: %v", err)
	}
	env["NFPM_PASSPHRASE"] = "secret"
	res, err := Build(context.Background(), s, []string{"rpm"}, nil, out, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("rpm not installed")
	}
	q, err := exec.Command("rpm", "-qp", "--nosignature", "--qf", "%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}\n", res[0].Path).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm: %v\n%s", err, q)
	}
	if id := fmt.Sprintf("%x", e.PrimaryKey.KeyId); !strings.Contains(string(q), id) {
		t.Errorf("signature %q, want key %s", q, id)
	}
}

// TestNfpmExampleWithTools builds nfpm's own example spec in every format
// and has each format's tool read the result.
func TestNfpmExampleWithTools(t *testing.T) {
	s := load(t, "../../testdata/nfpm-example/nfpm.yaml", map[string]string{"SOURCE_DATE_EPOCH": "1700000000"})
	res, err := Build(context.Background(), s, allFormats, nil, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string][]string{
		"deb":       {"dpkg-deb", "--info"},
		"rpm":       {"rpm", "-qip", "--nosignature"},
		"archlinux": {"pacman", "-Qip"},
		"tar.xz":    {"tar", "-tJf"},
		"tar.gz":    {"tar", "-tzf"},
		"zip":       {"unzip", "-l"},
	}
	for _, r := range res {
		if r.Format == "apk" {
			f, err := os.Open(r.Path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := apk.Read(f, apk.DefaultLimits)
			f.Close()
			if err != nil {
				t.Errorf("apk: %v", err)
			} else if p.Get("pkgname") != "foo" || len(p.Scripts) != 0 {
				t.Errorf("apk: %+v", p.Info)
			}
			continue
		}
		tool := tools[r.Format]
		if _, err := exec.LookPath(tool[0]); err != nil {
			if testtool.Required() {
				t.Fatalf("%s is not installed, and PACKHOUSE_E2E=1 forbids skipping", tool[0])
			}
			t.Logf("%s not installed; %s not checked", tool[0], r.Path)
			continue
		}
		out, err := exec.Command(tool[0], append(tool[1:], r.Path)...).CombinedOutput()
		if err != nil {
			t.Errorf("%s %s: %v\n%s", strings.Join(tool, " "), r.Path, err, out)
			continue
		}
		if !strings.Contains(string(out), "foo") {
			t.Errorf("%s does not show the package:\n%s", tool[0], out)
		}
	}
}
