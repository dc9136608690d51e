package spec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// writeTree creates files under dir: names ending in "/" are directories,
// "->target" values make symlinks.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func load(t *testing.T, yaml string, files map[string]string, vars map[string]string) (*Spec, error) {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	p := filepath.Join(dir, "nfpm.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if vars == nil {
		vars = map[string]string{}
	}
	return Load(p, Options{LookupEnv: env(vars)})
}

func TestNfpmExample(t *testing.T) {
	s, err := Load("../../testdata/nfpm-example/nfpm.yaml", Options{LookupEnv: env(map[string]string{"SOURCE_DATE_EPOCH": "1700000000"})})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "foo" || p.Arch != "amd64" || p.Version != "1.0.0" {
		t.Errorf("got %s %s %s", p.Name, p.Arch, p.Version)
	}
	if p.Summary != "FooBar is the great foo and bar software." || p.Description != "And this can be in multiple lines!" {
		t.Errorf("description split: %q / %q", p.Summary, p.Description)
	}
	if p.Scripts.PostInstall == "" || p.Scripts.PreInstall != "" {
		t.Errorf("deb override scripts not applied: %+v", p.Scripts)
	}
	var got []string
	for _, c := range p.Contents {
		got = append(got, c.Destination)
	}
	want := "/etc /etc/foobar.conf /sbin /sbin/foo /usr /usr/bin /usr/bin/bar /usr/bin/foo"
	if strings.Join(got, " ") != want {
		t.Errorf("contents:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, c := range p.Contents {
		if !c.MTime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: mtime %v", c.Destination, c.MTime)
		}
		switch c.Destination {
		case "/etc/foobar.conf":
			if c.Type != TypeConfig || c.Mode != 0o644 {
				t.Errorf("conf: %+v", c)
			}
		case "/usr/bin/foo":
			if c.Type != TypeFile || c.Mode != 0o755 || c.Size != 19 || c.UnixMode() != 0o100755 {
				t.Errorf("foo: %+v", c)
			}
		case "/sbin/foo":
			if c.Type != TypeSymlink || c.Target != "/usr/bin/foo" {
				t.Errorf("link: %+v", c)
			}
		case "/usr":
			if !c.Implicit || c.Type != TypeDir {
				t.Errorf("/usr: %+v", c)
			}
		}
	}
	r, err := s.Resolve(FormatRPM, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if r.Arch != "aarch64" || r.Scripts.PreInstall == "" || r.Scripts.PostInstall != "" {
		t.Errorf("rpm: arch %s scripts %+v", r.Arch, r.Scripts)
	}
	for _, f := range []string{FormatAPK, FormatArchLinux, FormatArchive} {
		if _, err := s.Resolve(f, ""); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestArchNames(t *testing.T) {
	cases := []struct{ in, format, want string }{
		{"amd64", FormatDeb, "amd64"}, {"x86_64", FormatDeb, "amd64"}, {"amd64", FormatAPK, "x86_64"},
		{"386", FormatDeb, "i386"}, {"386", FormatAPK, "x86"}, {"386", FormatArchLinux, "i686"}, {"i686", FormatRPM, "i686"},
		{"arm64", FormatRPM, "aarch64"}, {"aarch64", FormatDeb, "arm64"},
		{"armhf", FormatDeb, "armhf"}, {"armv7", FormatAPK, "armv7"}, {"arm7", FormatArchLinux, "armv7h"}, {"arm7", FormatRPM, "armv7hl"},
		{"arm6", FormatAPK, "armhf"}, {"all", FormatArchLinux, "any"}, {"all", FormatRPM, "noarch"},
		{"ppc64le", FormatDeb, "ppc64el"}, {"s390x", FormatAPK, "s390x"}, {"riscv64", FormatAPK, "riscv64"},
	}
	for _, c := range cases {
		got, err := FormatArch(c.format, c.in)
		if err != nil || got != c.want {
			t.Errorf("FormatArch(%s, %s) = %q, %v; want %q", c.format, c.in, got, err, c.want)
		}
	}
	if _, err := FormatArch(FormatAPK, "arm5"); err == nil {
		t.Error("apk has no armel port, want an error")
	}
}

func TestFullVersion(t *testing.T) {
	cases := []struct {
		format string
		p      Package
		want   string
	}{
		{FormatDeb, Package{Version: "1.2.3", Prerelease: "rc1", Release: "2", Epoch: "1"}, "1:1.2.3~rc1-2"},
		{FormatDeb, Package{Version: "1.2.3", VersionMetadata: "git"}, "1.2.3+git"},
		{FormatRPM, Package{Version: "1.2.3", Prerelease: "rc1"}, "1.2.3~rc1-1"},
		{FormatAPK, Package{Version: "1.2.3", Prerelease: "beta.1", Release: "3"}, "1.2.3_beta1-r3"},
		{FormatAPK, Package{Version: "1.2.3"}, "1.2.3-r0"},
		{FormatArchLinux, Package{Version: "1.2.3", Prerelease: "rc1", Epoch: "2"}, "2:1.2.3rc1-1"},
		{FormatArchive, Package{Version: "1.2.3", Prerelease: "rc1"}, "1.2.3-rc1"},
	}
	for _, c := range cases {
		got, err := FullVersion(c.format, &c.p)
		if err != nil || got != c.want {
			t.Errorf("%s %+v: got %q, %v; want %q", c.format, c.p, got, err, c.want)
		}
	}
}

func TestSemverMolding(t *testing.T) {
	s, err := load(t, "name: foo\narch: amd64\nversion: v1.2-beta.1+abc\nmaintainer: A <a@b.c>\n", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := FullVersion(FormatDeb, p); v != "1.2.0~beta.1+abc" {
		t.Errorf("deb version %q", v)
	}
}

func TestEnvExpansion(t *testing.T) {
	yaml := "name: foo\narch: ${GOARCH}\nversion: ${VERSION}\nmaintainer: A <a@b.c>\ndepends:\n  - base\n  - ${EXTRA_DEP}\ndescription: costs $$5\n" +
		"contents:\n  - src: ${BIN}\n    dst: /usr/bin/${BIN}\n    expand: true\n"
	s, err := load(t, yaml, map[string]string{"tool": "x"}, map[string]string{"GOARCH": "arm64", "VERSION": "2.0.0", "BIN": "tool"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Arch != "arm64" || p.Version != "2.0.0" || strings.Join(p.Depends, ",") != "base" || p.Summary != "costs $5" {
		t.Errorf("got arch %s version %s depends %v summary %q", p.Arch, p.Version, p.Depends, p.Summary)
	}
	if p.Contents[len(p.Contents)-1].Destination != "/usr/bin/tool" {
		t.Errorf("contents: %+v", p.Contents)
	}
}

func TestContents(t *testing.T) {
	files := map[string]string{
		"bin/a": "a", "bin/b": "bb", "bin/sub/c": "ccc", "bin/link": "->a",
		"etc/app/main.conf": "x", "etc/app/conf.d/extra.conf": "y",
		"docs/one.1": "1", "docs/two.1": "2", "docs/skip.txt": "s",
	}
	yaml := `name: foo
arch: amd64
version: 1.0.0
maintainer: A <a@b.c>
contents:
  - src: bin
    dst: /opt/foo/bin
  - src: etc/app
    dst: /etc/app
    type: config|noreplace|tree
  - src: docs/*.1
    dst: /usr/share/man/man1
  - src: bin/a
    dst: /usr/local/bin/
    file_info:
      mode: 04755
      owner: daemon
      mtime: 2020-01-02T03:04:05Z
  - dst: /var/lib/foo
    type: dir
    file_info:
      mode: 0o700
  - dst: /var/log/foo.log
    type: ghost
  - src: rpm-only
    dst: /etc/rpm-only
    packager: rpm
`
	s, err := load(t, yaml, files, map[string]string{"SOURCE_DATE_EPOCH": "1000000000"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	byDst := map[string]Content{}
	for _, c := range p.Contents {
		byDst[c.Destination] = c
	}
	checks := []struct {
		dst      string
		typ      FileType
		mode     fs.FileMode
		implicit bool
	}{
		{"/opt/foo/bin/a", TypeFile, 0o644, false},
		{"/opt/foo/bin/sub/c", TypeFile, 0o644, false},
		{"/opt/foo/bin/sub", TypeDir, 0o755, true},
		{"/opt/foo/bin/link", TypeSymlink, 0o777, false},
		{"/etc/app", TypeDir, 0o755, false},
		{"/etc/app/conf.d", TypeDir, 0o755, false},
		{"/etc/app/conf.d/extra.conf", TypeConfigNoReplace, 0o644, false},
		{"/usr/share/man/man1/one.1", TypeFile, 0o644, false},
		{"/usr/share/man/man1/two.1", TypeFile, 0o644, false},
		{"/usr/local/bin/a", TypeFile, 0o755 | fs.ModeSetuid, false},
		{"/var/lib/foo", TypeDir, 0o700, false},
	}
	for _, c := range checks {
		got, ok := byDst[c.dst]
		if !ok {
			t.Errorf("%s missing", c.dst)
			continue
		}
		if got.Type != c.typ || got.Mode != c.mode || got.Implicit != c.implicit {
			t.Errorf("%s: type %d mode %v implicit %v; want %d %v %v", c.dst, got.Type, got.Mode, got.Implicit, c.typ, c.mode, c.implicit)
		}
	}
	if _, ok := byDst["/usr/share/man/man1/skip.txt"]; ok {
		t.Error("glob matched skip.txt")
	}
	if _, ok := byDst["/var/log/foo.log"]; ok {
		t.Error("ghost in a deb")
	}
	if _, ok := byDst["/etc/rpm-only"]; ok {
		t.Error("rpm-only content in a deb")
	}
	a := byDst["/usr/local/bin/a"]
	if a.Owner != "daemon" || a.Group != "root" || a.MTime.Year() != 2020 || a.UnixMode() != 0o104755 {
		t.Errorf("file_info not applied: %+v", a)
	}
	if byDst["/opt/foo/bin/b"].MTime.Unix() != 1000000000 {
		t.Errorf("SOURCE_DATE_EPOCH not applied: %v", byDst["/opt/foo/bin/b"].MTime)
	}
	// rpm gets the ghost, and the rpm-only file (which does not exist).
	if _, err := s.Resolve(FormatRPM, ""); err == nil || !strings.Contains(err.Error(), `"rpm-only" does not exist`) {
		t.Errorf("rpm: want a missing source error, got %v", err)
	}
}

// TestBadSpecs checks that each kind of mistake is reported with the key
// and the line it is on.
func TestBadSpecs(t *testing.T) {
	const head = "name: foo\narch: amd64\nversion: 1.0.0\nmaintainer: A <a@b.c>\n" // lines 1-4
	cases := []struct {
		name   string
		yaml   string
		files  map[string]string
		format string
		want   string
	}{
		{"missing name", "arch: amd64\nversion: 1.0.0\n", nil, FormatDeb, "nfpm.yaml: name: required"},
		{"misspelt key", head + "dependz:\n  - x\n", nil, FormatDeb, `nfpm.yaml:5: unknown key "dependz" (did you mean "depends"?)`},
		{"misspelt nested key", head + "contents:\n  - src: a\n    dts: /a\n", map[string]string{"a": "x"}, FormatDeb, `nfpm.yaml:7: unknown key "dts" in contents[0] (did you mean "dst"?)`},
		{"unknown override format", head + "overrides:\n  debian:\n    depends: [x]\n", nil, FormatDeb, `nfpm.yaml:6: overrides: unknown format "debian"`},
		{"list expected", head + "depends: foo\n", nil, FormatDeb, "nfpm.yaml:5: expected a list"},
		{"deb version", "name: foo\narch: amd64\nversion: beta\nversion_schema: none\nmaintainer: A <a@b.c>\n", nil, FormatDeb, "nfpm.yaml:3: version: deb cannot hold this version: \"beta\" must start with a digit"},
		{"apk prerelease", head + "prerelease: nightly\n", nil, FormatAPK, "nfpm.yaml:5: prerelease: apk cannot hold this prerelease"},
		{"arch release", head + "release: 1a\n", nil, FormatArchLinux, "nfpm.yaml:5: release: archlinux cannot hold this release"},
		{"deb name", "name: Foo_Bar\narch: amd64\nversion: 1.0.0\nmaintainer: A <a@b.c>\n", nil, FormatDeb, "nfpm.yaml:1: name: \"Foo_Bar\" is not a valid deb package name"},
		{"missing source", head + "contents:\n  - src: nope\n    dst: /usr/bin/nope\n", nil, FormatDeb, `nfpm.yaml:6: contents[0].src: "nope" does not exist`},
		{"dotdot", head + "contents:\n  - src: a\n    dst: /usr/../etc/a\n", map[string]string{"a": "x"}, FormatDeb, `nfpm.yaml:7: contents[0].dst: "/usr/../etc/a" contains ".."`},
		{"mode not octal", head + "contents:\n  - src: a\n    dst: /a\n    file_info:\n      mode: 755\n", map[string]string{"a": "x"}, FormatDeb, `nfpm.yaml:9: contents[0].file_info.mode: "755" is not an octal mode; write it with a leading 0, like 0755`},
		{"mode bad digit", head + "contents:\n  - src: a\n    dst: /a\n    file_info:\n      mode: 0789\n", map[string]string{"a": "x"}, FormatDeb, `nfpm.yaml:9: contents[0].file_info.mode: "0789" is not an octal mode`},
		{"symlink loop", head + "contents:\n  - src: /b\n    dst: /a\n    type: symlink\n  - src: a\n    dst: /b\n    type: symlink\n", nil, FormatDeb, "symlink loop: /"},
		{"source symlink loop", head + "contents:\n  - src: loop/x\n    dst: /x\n", map[string]string{"loop": "->loop"}, FormatDeb, `nfpm.yaml:6: contents[0].src: "loop/x": symlink loop`},
		{"collision", head + "contents:\n  - src: a\n    dst: /a\n  - src: a\n    dst: /a\n", map[string]string{"a": "x"}, FormatDeb, "nfpm.yaml:9: contents[1]: /a is already in the package, from contents[0] (line 7)"},
		{"file as parent", head + "contents:\n  - src: a\n    dst: /a\n  - src: a\n    dst: /a/b\n", map[string]string{"a": "x"}, FormatDeb, "/a/b needs /a to be a directory"},
		{"missing script", head + "scripts:\n  postinstall: post.sh\n", nil, FormatDeb, `nfpm.yaml:6: scripts.postinstall: "post.sh" does not exist`},
		{"unknown type", head + "contents:\n  - src: a\n    dst: /a\n    type: symlnk\n", map[string]string{"a": "x"}, FormatDeb, `nfpm.yaml:8: contents[0].type: unknown type "symlnk"`},
		{"deb signature", head + "deb:\n  signature:\n    key_file: key.gpg\n", nil, FormatDeb, "nfpm.yaml:7: deb.signature.key_file: signing .deb files is not supported"},
		{"missing rpm key", head + "rpm:\n  signature:\n    key_file: nope.key\n", nil, FormatRPM, `nfpm.yaml:7: rpm.signature.key_file: "nope.key" does not exist`},
		{"missing deb maintainer", "name: foo\narch: amd64\nversion: 1.0.0\n", nil, FormatDeb, "maintainer: required for deb"},
		{"bad compression", head + "deb:\n  compression: lz4\n", nil, FormatDeb, `nfpm.yaml:6: deb.compression: "lz4" is not one of gzip, xz, zstd, none`},
		{"unset version", "name: foo\narch: amd64\nversion: ${VERSION}\nmaintainer: A <a@b.c>\n", nil, FormatDeb, "nfpm.yaml:3: version: required (${VERSION} expanded to nothing)"},
		{"duplicate key", head + "name: bar\n", nil, FormatDeb, `nfpm.yaml:5: mapping key "name" already defined at line 1`},
		{"glob no match", head + "contents:\n  - src: '*.nothing'\n    dst: /x/\n", nil, FormatDeb, `nfpm.yaml:6: contents[0].src: no file matches "*.nothing"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := load(t, c.yaml, c.files, nil)
			if err == nil {
				_, err = s.Resolve(c.format, "")
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestReproducibleWithoutSourceDateEpoch(t *testing.T) {
	files := map[string]string{"a": "x"}
	yaml := "name: foo\narch: amd64\nversion: 1.0.0\nmaintainer: A <a@b.c>\ncontents:\n  - src: a\n    dst: /a\n"
	dir := t.TempDir()
	writeTree(t, dir, files)
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(yaml), 0o644)
	old := time.Unix(1500000000, 0)
	os.Chtimes(filepath.Join(dir, "a"), old, old)
	os.Chtimes(filepath.Join(dir, "nfpm.yaml"), old, old)
	s, err := Load(filepath.Join(dir, "nfpm.yaml"), Options{LookupEnv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	if !p.BuildTime.Equal(old) {
		t.Errorf("build time %v, want the newest input's mtime %v", p.BuildTime, old)
	}
}

func TestOverrides(t *testing.T) {
	yaml := `name: foo
arch: amd64
version: 1.0.0
maintainer: A <a@b.c>
depends: [common]
overrides:
  deb:
    depends: [libfoo1 (>= 1.2)]
  rpm:
    depends: [libfoo >= 1.2]
deb:
  compression: zstd:19
  breaks: [old-foo]
  fields:
    Bugs: https://example.com/bugs
  triggers:
    interest: [/usr/lib/foo]
`
	s, err := load(t, yaml, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Resolve(FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Depends, ",") != "libfoo1 (>= 1.2)" || d.Compression != "zstd" || d.CompressionLevel != 19 ||
		strings.Join(d.Breaks, ",") != "old-foo" || len(d.Fields) != 1 || d.Triggers != "interest /usr/lib/foo\n" {
		t.Errorf("deb: %+v", d)
	}
	a, err := s.Resolve(FormatAPK, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Depends, ",") != "common" || a.Compression != "" || a.SigningKeyName != "a@b.c.rsa.pub" {
		t.Errorf("apk: %+v", a)
	}
}
