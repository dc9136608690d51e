package rpm

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/index/rpmmd"
	"github.com/packhouse/packhouse/internal/spec"
	"github.com/packhouse/packhouse/internal/testtool"
)

// dep3 is a dependency as a header stores it.
type dep3 struct {
	name    string
	flags   int32
	version string
}

// putDep3 stores a dependency list as its three arrays, as given.
func putDep3(h *header, nameTag, flagsTag, versionTag int32, ds ...dep3) {
	var names, versions []string
	var flags []int32
	for _, d := range ds {
		names = append(names, d.name)
		flags = append(flags, d.flags)
		versions = append(versions, d.version)
	}
	h.StringArray(nameTag, names)
	h.Int32(flagsTag, flags...)
	h.StringArray(versionTag, versions)
}

func i18n(h *header, tag int32, ss ...string) {
	h.StringArray(tag, ss)
	e := h.entries[tag]
	e.typ = typeI18NString
	h.entries[tag] = e
}

// TestReadCraftedMatchesCreaterepo covers what rpmbuild no longer writes
// but uploads may still hold (rpm 3 headers, weak dependencies before rpm
// 4.12) and what it refuses to write (odd versions, flags and names),
// all of which createrepo_c indexes: it must index each package as our
// writers do with what Read makes of it.
func TestReadCraftedMatchesCreaterepo(t *testing.T) {
	createrepo := testtool.Path(t, "createrepo_c")
	dir := t.TempDir()
	p := &spec.Package{Name: "base", Version: "1", Arch: "all", Summary: "s", BuildTime: buildTime,
		Contents: []spec.Content{
			{Type: spec.TypeFile, Source: writeSource(t, dir, "tool", "x"), Destination: "/usr/bin/tool", Mode: 0o755},
			{Type: spec.TypeConfig, Source: writeSource(t, dir, "conf", "y"), Destination: "/etc/own.conf", Mode: 0o644},
			{Type: spec.TypeDir, Destination: "/usr/share/own"},
		}}
	base := readTestPackage(t, writePackage(t, p, WriteOptions{}))
	archiveSize := base.sig.ints(sigPayloadSize)[0]

	const (
		eq  = senseEqual
		ge  = senseGreater | senseEqual
		pre = senseScriptPre
	)
	dropFiles := func(h *header) {
		for _, tag := range []int32{tagBaseNames, tagDirNames, tagDirIndexes} {
			delete(h.entries, tag)
		}
	}
	for _, c := range []struct {
		name   string
		region bool
		edit   func(h *header)
		sig    func(s *header)
	}{
		{name: "evr", region: true, edit: func(h *header) {
			putDep3(h, tagRequireName, tagRequireFlags, tagRequireVersion,
				dep3{"bad-epoch", eq, "x:1.0-2"}, dep3{"space-epoch", eq, " 5:1.0"},
				dep3{"empty-epoch", ge, ":1.0"}, dep3{"negative-epoch", eq, "-1:2"},
				dep3{"plain", ge, "1.0"}, dep3{"no-release", ge, "1.0-"}, dep3{"two-hyphens", eq, "1-2-3"},
				dep3{"late-colon", eq, "1.0:2"}, dep3{"epoch-only", eq, "4:"}, dep3{"unversioned", eq, ""})
			putDep3(h, tagProvideName, tagProvideFlags, tagProvideVersion,
				dep3{"evr", eq, "1-1"}, dep3{"bad-provide", eq, "a:1"})
		}},
		{name: "flags", region: true, edit: func(h *header) {
			var ds []dep3
			for _, f := range []int32{0, 1, 2, 3, 4, 6, 8, 10, 12, 14, 15, 16 | eq} {
				ds = append(ds, dep3{"f" + strconv.Itoa(int(f)), f, "1"})
			}
			putDep3(h, tagRequireName, tagRequireFlags, tagRequireVersion, ds...)
			putDep3(h, tagConflictName, tagConflictFlags, tagConflictVersion, ds...)
		}},
		{name: "weak", region: true, edit: func(h *header) {
			putDep3(h, tagRequireName, tagRequireFlags, tagRequireVersion,
				dep3{"required", 0, ""}, dep3{"old-recommends", senseMissingOK, ""})
			putDep3(h, tagRecommendName, tagRecommendFlags, tagRecommendVersion, dep3{"new-recommends", ge, "2"})
			putDep3(h, tagOldSuggestsName, tagOldSuggestsFlags, tagOldSuggestsVersion,
				dep3{"old-suggests", 0, ""}, dep3{"old-strong-suggests", senseStrong | eq, "1"})
			putDep3(h, tagOldEnhancesName, tagOldEnhancesFlags, tagOldEnhancesVersion,
				dep3{"old-enhances", 0, ""}, dep3{"old-strong-enhances", senseStrong, ""})
			putDep3(h, tagSupplementName, tagSupplementFlags, tagSupplementVersion, dep3{"new-supplements", 0, ""})
			putDep3(h, tagEnhanceName, tagEnhanceFlags, tagEnhanceVersion, dep3{"new-enhances", 0, ""})
		}},
		{name: "libc-a", region: true, edit: func(h *header) {
			putDep3(h, tagRequireName, tagRequireFlags, tagRequireVersion,
				dep3{"libc.so.6(GLIBC_2.3", 0, ""}, dep3{"libc.so.6", 0, ""}, dep3{"libc.so.6()", 0, ""}, dep3{"z", 0, ""})
		}},
		{name: "libc-b", region: true, edit: func(h *header) {
			putDep3(h, tagRequireName, tagRequireFlags, tagRequireVersion,
				dep3{"libc.so.6", 0, ""}, dep3{"libc.so.6()", 0, ""}, dep3{"libc.so.6(abc)(64bit)", 0, ""},
				dep3{"libc.so.6(GLIBC_2.3.4)", 0, ""}, dep3{"libc.so.6(GLIBC_2.10)", 0, ""}, dep3{"libc.so.6(GLIBC_2.9)", 0, ""})
		}},
		{name: "repeats", region: true, edit: func(h *header) {
			putDep3(h, tagProvideName, tagProvideFlags, tagProvideVersion,
				dep3{"repeats", eq, "1-1"}, dep3{"p", eq, "1"}, dep3{"qEQ1", 0, ""})
			putDep3(h, tagRequireName, tagRequireFlags, tagRequireVersion,
				dep3{"d", pre, ""}, dep3{"d", 0, ""}, dep3{"d", 0, ""}, dep3{"d", pre, ""}, dep3{"d", senseScriptPost, ""},
				dep3{"d", senseScriptPreUn, ""}, dep3{"d", sensePrereq, ""}, dep3{"d", ge, "1"},
				dep3{"/etc/own.conf", 0, ""}, dep3{"/usr/share/own", 0, ""}, dep3{"/etc/other.conf", 0, ""},
				dep3{"/usr/bin/tool", pre, ""}, dep3{"p", eq, "1"}, dep3{"p", eq | pre, "1"}, dep3{"p", ge, "1"},
				dep3{"q", eq, "1"}, dep3{"rpmlib(Foo)", senseRPMLib, ""})
		}},
		{name: "rpm3", edit: func(h *header) {
			dropFiles(h)
			h.StringArray(tagOldFileNames, []string{"/etc/own.conf", "/usr/bin/tool", "/usr/share/own"})
			putDep3(h, tagProvideName, tagProvideFlags, tagProvideVersion, dep3{"other", eq, "2"})
		}},
		{name: "rpm3-unversioned", edit: func(h *header) {
			h.StringArray(tagProvideName, []string{"a", "b"})
			delete(h.entries, tagProvideFlags)
			delete(h.entries, tagProvideVersion)
			h.Int32(tagEpoch, 3)
		}},
		{name: "rpm3-self", edit: func(h *header) {
			putDep3(h, tagProvideName, tagProvideFlags, tagProvideVersion, dep3{"rpm3-self", eq, "1-1"})
		}},
		{name: "no-source", region: true, edit: func(h *header) { delete(h.entries, tagSourceRPM) }},
		{name: "heuristic-source", region: true, edit: func(h *header) {
			delete(h.entries, tagSourceRPM)
			h.StringArray(tagDirNames, []string{""})
			h.StringArray(tagBaseNames, []string{"a.spec", "a.tar", "b.patch"})
			h.Int32(tagDirIndexes, 0, 0, 0)
		}},
		{name: "i18n", region: true, edit: func(h *header) {
			h.StringArray(tagHeaderI18NTable, []string{"C", "de_DE"})
			i18n(h, tagSummary, "summary", "Zusammenfassung")
			i18n(h, tagDescription, "description", "Beschreibung")
			i18n(h, tagGroup, "Applications/Misc", "Anwendungen")
		}},
		{name: "long-sizes", region: true, edit: func(h *header) {
			delete(h.entries, tagSize)
			h.Int64(tagLongSize, 5<<30)
		}, sig: func(s *header) {
			delete(s.entries, sigPayloadSize)
			s.Int64(sigLongArchiveSize, 6<<30)
		}},
		{name: "changelog", region: true, edit: func(h *header) {
			h.Int32(tagChangelogTime, -1294967296, -1294967296, 1000, 1000, 1000, 0, 0)
			h.StringArray(tagChangelogName, []string{"A  ", "   ", " B", "C <c> - 1", "D", "", "E"})
			h.StringArray(tagChangelogText, []string{"a", "b", "c", "d", "e", "f", "g"})
		}},
	} {
		h := newHeader()
		for _, e := range base.hdr.index[1:] {
			h.entries[e.tag] = e
		}
		h.String(tagName, c.name)
		c.edit(h)
		var hdr []byte
		if c.region {
			var err error
			if hdr, err = h.Marshal(tagHeaderImmutable); err != nil {
				t.Fatal(err)
			}
		} else {
			hdr = marshalPlain(h)
		}
		sig := signatureFor(hdr, int64(len(base.payload)), archiveSize, true, c.sig)
		b := packageBytes(base.lead, sig, hdr, base.payload)
		if err := os.WriteFile(filepath.Join(dir, c.name+"-1-1.noarch.rpm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"tool", "conf"} {
		os.Remove(filepath.Join(dir, name))
	}
	createrepoIndex(t, createrepo, dir)
}

// createrepoIndex indexes the rpms in dir with createrepo_c and with Read
// and the rpmmd writers, and requires the same documents.
func createrepoIndex(t *testing.T, createrepo, dir string) {
	t.Helper()
	rpms, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	read := make(map[string]*rpmmd.Package)
	for _, name := range rpms {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Read(bytes.NewReader(data), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(name), err)
		}
		p := info.Meta
		sum := sha256.Sum256(data)
		p.SHA256 = hex.EncodeToString(sum[:])
		p.PackageSize = st.Size()
		p.FileTime = st.ModTime().Unix()
		p.Location = filepath.Base(name)
		read[p.SHA256] = &p
	}

	cmd := exec.Command(createrepo, "--no-database", "--simple-md-filenames", dir)
	// createrepo_c takes i18n strings in the locale's language.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANGUAGE=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	t.Logf("createrepo_c:\n%s", out)
	gunzip := func(name string) []byte {
		f, err := os.Open(filepath.Join(dir, "repodata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	refPrimary, refFilelists, refOther := gunzip("primary.xml.gz"), gunzip("filelists.xml.gz"), gunzip("other.xml.gz")

	// In createrepo_c's order.
	var pkgs []*rpmmd.Package
	for _, m := range regexp.MustCompile(`pkgid="YES">([0-9a-f]{64})<`).FindAllSubmatch(refPrimary, -1) {
		p, ok := read[string(m[1])]
		if !ok {
			t.Fatalf("createrepo_c lists a package %s that is none of ours", m[1])
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) != len(rpms) {
		t.Errorf("createrepo_c indexed %d of %d packages", len(pkgs), len(rpms))
	}
	primary := rpmmd.PrimaryHeader(len(pkgs))
	filelists := rpmmd.FilelistsHeader(len(pkgs))
	other := rpmmd.OtherHeader(len(pkgs))
	for _, p := range pkgs {
		primary = rpmmd.AppendPrimary(primary, p)
		filelists = rpmmd.AppendFilelists(filelists, p)
		other = rpmmd.AppendOther(other, p)
	}
	primary = append(primary, rpmmd.PrimaryFooter()...)
	filelists = append(filelists, rpmmd.FilelistsFooter()...)
	other = append(other, rpmmd.OtherFooter()...)
	for _, doc := range []struct {
		name      string
		got, want []byte
	}{{"primary.xml", primary, refPrimary}, {"filelists.xml", filelists, refFilelists}, {"other.xml", other, refOther}} {
		if !bytes.Equal(doc.got, doc.want) {
			t.Errorf("%s differs from createrepo_c's:\n%s", doc.name, lineDiff(doc.got, doc.want))
		}
	}
}

// lineDiff lists the lines in which got and want differ.
func lineDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	var b strings.Builder
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n got: " + strconv.Quote(gl) + "\nwant: " + strconv.Quote(wl) + "\n")
		}
	}
	return b.String()
}
