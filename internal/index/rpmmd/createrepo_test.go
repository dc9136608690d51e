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
	// rules.spec has what createrepo_c leaves out or changes: requires
	// on rpmlib(), on glibc symbol versions but the highest, on its own
	// primary files and on what it provides itself; changelogs beyond the
	// newest ten; equal changelog times; blanks after an author.
	"rules.spec": `Name: rules
Version: 2.0
Release: 1
Summary: createrepo_c's rules
License: MIT
BuildArch: noarch
Provides: rules-api = 2
Requires: rules-api = 2
Requires: rules-api >= 1
Requires: rules = 2.0-1
Requires: libc.so.6(GLIBC_2.4)
Requires: libc.so.6(GLIBC_2.17)(64bit)
Requires: libc.so.6()(64bit)
Requires: libc.so.6(GLIBC_2.2.5)(64bit)
Requires: /usr/bin/rules
Requires: /usr/share/rules/data
Requires: /usr/bin/elsewhere
Requires: noversion = 3:
Requires: norelease >= 1.0-
Requires(pre): prereq
Requires(post): postreq
Requires(preun): preunreq
Requires(postun): postunreq
Requires(pretrans): pretransreq
Requires(posttrans): posttransreq

%description
d

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/rules
echo x > %{buildroot}/usr/bin/rules
echo x > %{buildroot}/usr/share/rules/data

%files
/usr/bin/rules
/usr/share/rules

%changelog
* Sat Jan 21 2023 Same C <c@example.com> - 2.0-1
- c

* Sat Jan 21 2023 Same B <b@example.com> - 1.9-1
- b

* Sat Jan 21 2023 Same A <a@example.com>   
- a

* Fri Jan 20 2023 Author 9 <a9@example.com> - 1.9-1
- change 9

* Thu Jan 19 2023 Author 8 <a8@example.com> - 1.8-1
- change 8

* Wed Jan 18 2023 Author 7 <a7@example.com> - 1.7-1
- change 7

* Tue Jan 17 2023 Author 6 <a6@example.com> - 1.6-1
- change 6

* Mon Jan 16 2023 Author 5 <a5@example.com> - 1.5-1
- change 5

* Sun Jan 15 2023 Author 4 <a4@example.com> - 1.4-1
- change 4

* Sat Jan 14 2023 Author 3 <a3@example.com> - 1.3-1
- change 3

* Fri Jan 13 2023 Author 2 <a2@example.com> - 1.2-1
- change 2

* Thu Jan 12 2023 Author 1 <a1@example.com> - 1.1-1
- change 1
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

// reference is a repository of rpmbuild's packages, indexed by
// createrepo_c.
type reference struct {
	Dir  string   // the repository
	RPMs []string // its packages
	// Primary, Filelists and Other are createrepo_c's documents,
	// uncompressed; RepoMD is its repomd.xml.
	Primary, Filelists, Other, RepoMD []byte
}

// buildReference builds the specs' binary and source rpms with rpmbuild
// and indexes them with createrepo_c as it runs by default, but without
// the sqlite databases and with plain file names.
func buildReference(t *testing.T) *reference {
	t.Helper()
	createrepo := lookPath(t, "createrepo_c")
	rpmbuild := lookPath(t, "rpmbuild")

	dir := t.TempDir()
	top := filepath.Join(dir, "top")
	ref := &reference{Dir: filepath.Join(dir, "repo")}
	if err := os.MkdirAll(ref.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, spec := range specs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, rpmbuild, "--quiet", "--define", "_topdir "+top, "-ba", path)
	}
	sources, err := filepath.Glob(filepath.Join(top, "SRPMS", "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	binaries, err := filepath.Glob(filepath.Join(top, "RPMS", "*", "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	built := append(sources, binaries...)
	if len(sources) != len(specs) || len(binaries) != len(specs) {
		t.Fatalf("rpmbuild made %v, want a binary and a source rpm of each spec", built)
	}
	for _, r := range built {
		data, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(ref.Dir, filepath.Base(r))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ref.RPMs = append(ref.RPMs, path)
	}
	run(t, createrepo, "--quiet", "--no-database", "--simple-md-filenames", ref.Dir)

	ref.Primary = gunzipFile(t, filepath.Join(ref.Dir, "repodata", "primary.xml.gz"))
	ref.Filelists = gunzipFile(t, filepath.Join(ref.Dir, "repodata", "filelists.xml.gz"))
	ref.Other = gunzipFile(t, filepath.Join(ref.Dir, "repodata", "other.xml.gz"))
	if ref.RepoMD, err = os.ReadFile(filepath.Join(ref.Dir, "repodata", "repomd.xml")); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestCreaterepo checks the writers against the reference: it reads
// createrepo_c's documents back into Packages, and requires the writers
// to turn those Packages into createrepo_c's documents again, field for
// field and byte for byte. (That the Packages rpm.Read makes of the same
// rpms give these documents too is tested in rpmmd_test: this package
// cannot import internal/rpm, which imports it.)
func TestCreaterepo(t *testing.T) {
	ref := buildReference(t)
	refPkgs := parseDocuments(t, ref.Primary, ref.Filelists, ref.Other)
	if len(refPkgs) != len(ref.RPMs) {
		t.Fatalf("createrepo_c indexed %d packages, want %d", len(refPkgs), len(ref.RPMs))
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
		{"primary.xml", primary, ref.Primary},
		{"filelists.xml", filelists, ref.Filelists},
		{"other.xml", other, ref.Other},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s differs from createrepo_c's:\n%s", tc.name, firstDiff(tc.got, tc.want))
		}
	}

	var md xmlRepoMD
	if err := xml.Unmarshal(ref.RepoMD, &md); err != nil {
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
	if got := RepoMD(md.Revision, data); !bytes.Equal(got, ref.RepoMD) {
		t.Errorf("repomd.xml differs from createrepo_c's:\n%s", firstDiff(got, ref.RepoMD))
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
