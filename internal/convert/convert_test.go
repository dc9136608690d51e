package convert

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/packhouse/packhouse/internal/testtool"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/packhouse/packhouse/internal/deb"
	"github.com/packhouse/packhouse/internal/rpm"
	"github.com/packhouse/packhouse/internal/spec"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	testtool.Need(t, name)
}

// dpkgDeb builds a .deb with the real dpkg-deb, with the control fields a
// conversion has to work at: alternatives, arch qualifiers, Pre-Depends,
// Breaks, debconf templates, a conffile, scripts testing their arguments.
func dpkgDeb(t *testing.T) string {
	t.Helper()
	needTool(t, "dpkg-deb")
	root := t.TempDir()
	files := map[string]string{
		"DEBIAN/control": `Package: demo-tool
Version: 2:1.4~rc2-3ubuntu1
Architecture: arm64
Maintainer: Demo <demo@example.com>
Installed-Size: 12
Pre-Depends: init-system-helpers (>= 1.54~)
Depends: libc6 (>= 2.34), python3:any (>> 3.9), default-mta | mail-transport-agent
Recommends: curl
Suggests: jq
Breaks: demo-tool-old (<< 1.0)
Conflicts: other-tool
Replaces: demo-tool-old
Provides: demo
Multi-Arch: foreign
Section: admin
Priority: optional
Homepage: https://example.com/demo
Description: demonstrates conversion
 A tool that exists to be converted.
 .
 Second paragraph.
`,
		"DEBIAN/conffiles":                  "/etc/demo/demo.conf\n",
		"DEBIAN/templates":                  "Template: demo/question\nType: boolean\n",
		"DEBIAN/postinst":                   "#!/bin/bash\nset -e\nif [ \"$1\" = configure ]; then echo configured; fi\n",
		"DEBIAN/postrm":                     "#!/bin/sh\nif [ \"$1\" = purge ]; then rm -rf /var/lib/demo; fi\n",
		"usr/bin/demo":                      "#!/bin/sh\necho demo\n",
		"etc/demo/demo.conf":                "x=1\n",
		"usr/share/doc/demo-tool/copyright": "MIT\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if strings.HasPrefix(name, "DEBIAN/post") || name == "usr/bin/demo" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("demo", filepath.Join(root, "usr/bin/demo-link"))
	out := filepath.Join(t.TempDir(), "demo.deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Zxz", "-b", root, out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	return out
}

func readDeb(t *testing.T, path string) *Deb {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ReadDeb(context.Background(), f, t.TempDir(), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConvertDpkgDebToRPM(t *testing.T) {
	d := readDeb(t, dpkgDeb(t))
	p, notes, err := Package(d, spec.FormatRPM, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo-tool" || p.Epoch != "2" || p.Version != "1.4~rc2" || p.Release != "3ubuntu1" || p.Arch != "aarch64" {
		t.Errorf("identity: %s %s:%s-%s %s", p.Name, p.Epoch, p.Version, p.Release, p.Arch)
	}
	wantDeps := "init-system-helpers >= 1.54~,libc6 >= 2.34,python3 > 3.9,(default-mta or mail-transport-agent)"
	if got := strings.Join(p.Depends, ","); got != wantDeps {
		t.Errorf("depends %s\n   want %s", got, wantDeps)
	}
	if got := strings.Join(p.Conflicts, ","); got != "other-tool,demo-tool-old < 1.0" {
		t.Errorf("conflicts %s", got)
	}
	if !strings.Contains(p.Scripts.PostInstall, "#!/bin/bash\n# packhouse convert") || !strings.Contains(p.Scripts.PostInstall, "set -- configure\n") {
		t.Errorf("postinst:\n%s", p.Scripts.PostInstall)
	}
	if p.Scripts.Interpreters["postinstall"] != "/bin/bash" {
		t.Errorf("interpreters %v", p.Scripts.Interpreters)
	}
	if p.License != "see /usr/share/doc/demo-tool/copyright" || p.Summary != "demonstrates conversion" ||
		p.Description != "A tool that exists to be converted.\n\nSecond paragraph." {
		t.Errorf("license %q summary %q description %q", p.License, p.Summary, p.Description)
	}
	byPath := map[string]spec.Content{}
	for _, c := range p.Contents {
		byPath[c.Destination] = c
	}
	if c := byPath["/etc/demo/demo.conf"]; c.Type != spec.TypeConfigNoReplace {
		t.Errorf("conffile: %+v", c)
	}
	if c := byPath["/usr/bin/demo"]; c.Mode != 0o755 || c.Size != 20 {
		t.Errorf("binary: %+v", c)
	}
	if c := byPath["/usr/bin"]; !c.Implicit {
		t.Errorf("/usr/bin would be owned: %+v", c)
	}
	if c := byPath["/etc/demo"]; c.Implicit || c.Type != spec.TypeDir {
		t.Errorf("/etc/demo would not be owned: %+v", c)
	}
	all := strings.Join(notes.List(), "\n")
	for _, want := range []string{"Pre-Depends", "architecture qualifiers such as :any", "Breaks became Conflicts",
		"Multi-Arch dropped", "debconf templates dropped", "purge"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}

	needTool(t, "rpm")
	out := filepath.Join(t.TempDir(), rpm.FileName(p))
	f, _ := os.Create(out)
	if err := rpm.Write(context.Background(), f, p, rpm.WriteOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	q, err := exec.Command("rpm", "-qp", "--nosignature", "--qf", "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH}\n", "--requires", "--scripts", out).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -qp: %v\n%s", err, q)
	}
	for _, want := range []string{"demo-tool 2:1.4~rc2-3ubuntu1 aarch64", "libc6 >= 2.34", "(default-mta or mail-transport-agent)",
		"postinstall scriptlet (using /bin/bash)", "set -- configure"} {
		if !strings.Contains(string(q), want) {
			t.Errorf("rpm -qp lacks %q:\n%s", want, q)
		}
	}
}

func TestConvertToAPKAndArch(t *testing.T) {
	d := readDeb(t, dpkgDeb(t))
	a, notes, err := Package(d, spec.FormatAPK, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := spec.FullVersion(spec.FormatAPK, a); v != "1.4_rc2-r3" || a.Arch != "aarch64" {
		t.Errorf("apk version %s arch %s", v, a.Arch)
	}
	if got := strings.Join(a.Depends, ","); got != "init-system-helpers>=1.54,libc6>=2.34,python3>3.9,default-mta" {
		t.Errorf("apk depends %s", got)
	}
	if a.Scripts.PostUpgrade == "" || a.Scripts.PostInstall == "" || len(a.Recommends) != 0 {
		t.Errorf("apk: %+v", a.Scripts)
	}
	if !strings.Contains(strings.Join(notes.List(), "\n"), "alternatives") {
		t.Errorf("no note about alternatives: %v", notes.List())
	}
	if !d.BuildTime.Equal(a.BuildTime) {
		t.Errorf("build time %v, want the deb's newest %v", a.BuildTime, d.BuildTime)
	}
	p, _, err := Package(d, spec.FormatArchLinux, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := spec.FullVersion(spec.FormatArchLinux, p); v != "2:1.4rc2-3" {
		t.Errorf("arch version %s", v)
	}
}

// TestConvertOwnDeb converts a deb this repository's writer made, so the
// two meet in the middle: every file survives with its mode and time.
func TestConvertOwnDeb(t *testing.T) {
	s, err := spec.Load("../../testdata/hello/nfpm.yaml", spec.Options{LookupEnv: func(string) (string, bool) { return "1700000000", true }})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := s.Resolve(spec.FormatDeb, "")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := deb.Write(context.Background(), &b, orig, deb.WriteOptions{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDeb(context.Background(), &b, t.TempDir(), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := Package(d, spec.FormatArchLinux, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]spec.Content{}
	for _, c := range p.Contents {
		got[c.Destination] = c
	}
	for _, c := range orig.Contents {
		g, ok := got[c.Destination]
		if !ok {
			t.Errorf("%s lost", c.Destination)
			continue
		}
		if g.Mode != c.Mode || !g.MTime.Equal(c.MTime) || g.Size != c.Size || g.Target != c.Target {
			t.Errorf("%s: got %+v\nwant %+v", c.Destination, g, c)
		}
	}
	if !strings.Contains(p.Scripts.PreInstall, "set -- install") || !strings.Contains(p.Scripts.PreUpgrade, "set -- upgrade") {
		t.Errorf("scripts %+v", p.Scripts)
	}
}

// debBytes assembles a .deb by hand, for the malformed cases.
func debBytes(t testing.TB, control string, entries []tar.Header, bodies []string, md5sums string) []byte {
	t.Helper()
	tgz := func(write func(*tar.Writer)) []byte {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		tw := tar.NewWriter(gz)
		write(tw)
		tw.Close()
		gz.Close()
		return b.Bytes()
	}
	ctl := tgz(func(tw *tar.Writer) {
		for _, m := range [][2]string{{"./control", control}, {"./md5sums", md5sums}} {
			if m[1] == "" {
				continue
			}
			tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg})
			tw.Write([]byte(m[1]))
		}
	})
	data := tgz(func(tw *tar.Writer) {
		for i := range entries {
			h := entries[i]
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(bodies[i]))
			}
			tw.WriteHeader(&h)
			if h.Typeflag == tar.TypeReg {
				tw.Write([]byte(bodies[i]))
			}
		}
	})
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", ctl}, {"data.tar.gz", data}} {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.body))
		b.Write(m.body)
		if len(m.body)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

const minimalControl = "Package: xx\nVersion: 1.0\nArchitecture: all\nMaintainer: A <a@b.c>\nDescription: x\n"

func TestReadDebRejects(t *testing.T) {
	reg := func(name string) tar.Header { return tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg} }
	cases := []struct {
		name    string
		data    []byte
		wantErr error
		want    string
	}{
		{"dotdot", debBytes(t, minimalControl, []tar.Header{reg("./../../etc/passwd")}, []string{"x"}, ""), ErrInvalid, "climbs out of the root"},
		{"md5 mismatch", debBytes(t, minimalControl, []tar.Header{reg("./usr/x")}, []string{"x"}, "00000000000000000000000000000000  usr/x\n"), ErrInvalid, "md5sums"},
		{"duplicate", debBytes(t, minimalControl, []tar.Header{reg("./a"), reg("./a")}, []string{"1", "2"}, ""), ErrInvalid, "appears twice"},
		{"hard link out", debBytes(t, minimalControl, []tar.Header{{Name: "./a", Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}}, []string{""}, ""), ErrInvalid, "not an earlier file"},
		{"no control", debBytes(t, "", nil, nil, ""), ErrInvalid, "no control file"},
		{"not ar", []byte("hello"), ErrInvalid, "no ar archive magic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := ReadDeb(context.Background(), bytes.NewReader(c.data), dir, DefaultLimits)
			if !errors.Is(err, c.wantErr) || !strings.Contains(fmt.Sprint(err), c.want) {
				t.Errorf("got %v, want %v containing %q", err, c.wantErr, c.want)
			}
			// Nothing is ever written outside dir.
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "etc")); err == nil {
				t.Error("wrote outside the extraction directory")
			}
		})
	}
	big := debBytes(t, minimalControl, []tar.Header{reg("./big")}, []string{strings.Repeat("x", 5000)}, "")
	if _, err := ReadDeb(context.Background(), bytes.NewReader(big), t.TempDir(), Limits{MaxControl: 1 << 20, MaxData: 4096, MaxEntries: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the data limit: %v", err)
	}
}

func FuzzReadDeb(f *testing.F) {
	f.Add(debBytes(f, minimalControl, []tar.Header{{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "./usr/x", Typeflag: tar.TypeReg, Mode: 0o644}},
		[]string{"", "body"}, "841a2d689ad86bd1611447453c22c6fc  usr/x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		d, err := ReadDeb(context.Background(), bytes.NewReader(data), dir, Limits{MaxControl: 1 << 16, MaxData: 1 << 20, MaxEntries: 100})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrTooLarge", err)
			}
			return
		}
		for _, e := range d.Entries {
			if e.Source != "" && filepath.Dir(e.Source) != dir {
				t.Fatalf("extracted to %s, outside %s", e.Source, dir)
			}
		}
		for _, format := range []string{spec.FormatRPM, spec.FormatAPK, spec.FormatArchLinux} {
			Package(d, format, time.Time{})
		}
	})
}
