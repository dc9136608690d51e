package rpmmd

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"github.com/packhouse/packhouse/internal/testtool"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// specs are built with rpmbuild for the comparison with createrepo_c. The
// first holds what is hard to escape and every kind of dependency and
// file; the second has nothing optional.
var specs = map[string]string{
	"hello.spec": `Name:           hello
Version:        1.2
Release:        3
Epoch:          1
Summary:        Says <hello> & "bye" — ünïcode
License:        MIT & BSD
URL:            https://example.com/?a=1&b=2
Vendor:         Acme "Corp"
Packager:       Jane <jane@example.com>
Group:          Applications/Misc
BuildArch:      noarch
Requires(pre):  /bin/sh
Requires:       bash >= 4.0
Requires:       (foo or bar)
Provides:       hello-api = 2:3.4-5
Provides:       weird<name
Provides:       wéird
Conflicts:      hello-old < 1.0
Obsoletes:      hello-ancient <= 0.9
Recommends:     cowsay
Suggests:       fortune > 1
Supplements:    (hello-extra and fish)
Enhances:       greeter

%description
A longer text with <tags> & ampersands,
second line	with a tab
üñí€ 😀 "quoted" 'single'

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/hello %{buildroot}/usr/share/hello %{buildroot}/opt/x/sbin %{buildroot}/usr/lib
echo '#!/bin/sh' > %{buildroot}/usr/bin/hello
chmod 755 %{buildroot}/usr/bin/hello
echo conf > %{buildroot}/etc/hello/hello.conf
echo data > "%{buildroot}/usr/share/hello/a&b <c> ünï.txt"
echo x > %{buildroot}/opt/x/sbin/tool
echo x > %{buildroot}/usr/lib/sendmail

%files
/usr/bin/hello
%dir /etc/hello
%config /etc/hello/hello.conf
%ghost /etc/hello/hello.log
/usr/share/hello
/opt/x/sbin/tool
/usr/lib/sendmail

%changelog
* Mon Nov 20 2023 Jürgen "J" <j@example.com>	- 1:1.2-3
- Fix <bug> & stuff
- second

* Sun Nov 19 2023 Bob Old <bob@example.com> - 1.1-1
- initial
`,
	"min.spec": `Name: min
Version: 0.1
Release: 1
Summary: minimal
License: GPL
BuildArch: noarch
%description
d
%files
`,
}

// TestCreaterepo checks the writers against the reference: it builds rpms
// with rpmbuild, indexes them with createrepo_c, reads createrepo_c's
// documents back into Packages, and requires the writers to turn those
// Packages into createrepo_c's documents again, field for field and byte
// for byte.
func TestCreaterepo(t *testing.T) {
	createrepo := lookPath(t, "createrepo_c")
	rpmbuild := lookPath(t, "rpmbuild")

	dir := t.TempDir()
	top := filepath.Join(dir, "top")
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, spec := range specs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, rpmbuild, "--quiet", "--define", "_topdir "+top, "-bb", path)
	}
	rpms, err := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if err != nil || len(rpms) != len(specs) {
		t.Fatalf("rpmbuild made %v (%v), want %d rpms", rpms, err, len(specs))
	}
	for _, r := range rpms {
		data, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, filepath.Base(r)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, createrepo, "--quiet", "--no-database", "--simple-md-filenames", repo)

	refPrimary := gunzipFile(t, filepath.Join(repo, "repodata", "primary.xml.gz"))
	refFilelists := gunzipFile(t, filepath.Join(repo, "repodata", "filelists.xml.gz"))
	refOther := gunzipFile(t, filepath.Join(repo, "repodata", "other.xml.gz"))
	refRepoMD, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}

	refPkgs := parseDocuments(t, refPrimary, refFilelists, refOther)
	if len(refPkgs) != len(specs) {
		t.Fatalf("createrepo_c indexed %d packages, want %d", len(refPkgs), len(specs))
	}

	primary, filelists, other := documents(refPkgs)

	// Field for field: what a parser reads from ours is what it reads from
	// createrepo_c's.
	ourPkgs := parseDocuments(t, primary, filelists, other)
	for i := range refPkgs {
		if d := diffPackage(ourPkgs[i], refPkgs[i]); d != "" {
			t.Errorf("package %s: ours and createrepo_c's read back differently:\n%s", refPkgs[i].Name, d)
		}
	}

	// Byte for byte: the same layout, escaping and defaults.
	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"primary.xml", primary, refPrimary},
		{"filelists.xml", filelists, refFilelists},
		{"other.xml", other, refOther},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s differs from createrepo_c's:\n%s", tc.name, firstDiff(tc.got, tc.want))
		}
	}

	var md xmlRepoMD
	if err := xml.Unmarshal(refRepoMD, &md); err != nil {
		t.Fatal(err)
	}
	var data []Data
	for _, d := range md.Data {
		if d.Checksum.Type != "sha256" || d.OpenChecksum.Type != "sha256" {
			t.Fatalf("createrepo_c used checksum types %q/%q", d.Checksum.Type, d.OpenChecksum.Type)
		}
		data = append(data, Data{
			Type: d.Type, Checksum: d.Checksum.Value, OpenChecksum: d.OpenChecksum.Value,
			Size: d.Size, OpenSize: d.OpenSize, Location: d.Location.Href, Timestamp: d.Timestamp,
		})
	}
	// Reversed, to show that the order is RepoMD's and not the caller's.
	for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
		data[i], data[j] = data[j], data[i]
	}
	if got := RepoMD(md.Revision, data); !bytes.Equal(got, refRepoMD) {
		t.Errorf("repomd.xml differs from createrepo_c's:\n%s", firstDiff(got, refRepoMD))
	}
}

func parseDocuments(t *testing.T, primary, filelists, other []byte) []*Package {
	t.Helper()
	var p xmlPrimary
	var f xmlFilelists
	var o xmlOther
	for _, d := range []struct {
		name string
		data []byte
		v    any
	}{{"primary.xml", primary, &p}, {"filelists.xml", filelists, &f}, {"other.xml", other, &o}} {
		if err := xml.Unmarshal(d.data, d.v); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
	}
	if p.Count != len(p.Packages) || f.Count != len(f.Packages) || o.Count != len(o.Packages) {
		t.Fatalf("packages= attributes %d %d %d do not count %d %d %d packages",
			p.Count, f.Count, o.Count, len(p.Packages), len(f.Packages), len(o.Packages))
	}
	return fromXML(&p, &f, &o)
}

// lookPath finds a reference tool; without it the test skips, or fails
// in CI (testtool).
func lookPath(t *testing.T, name string) string {
	t.Helper()
	return testtool.Path(t, name)
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	// Keep the user's rpm macros and locale out of the comparison.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C.UTF-8")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data
}
