package rpmmd

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtures are the packages of the golden files: one with every field and
// every kind of dependency and file, one with nothing optional, and one
// whose strings hold what XML cannot carry as is.
func fixtures() []*Package {
	return []*Package{
		{
			Name: "hello", Arch: "x86_64", Epoch: "1", Version: "1.2", Release: "3.el9",
			SHA256:  "a985d84d2a02d50e950bc8bd9ee6f719dc32f6924e040baa6141d0779e538fa0",
			Summary: `Says <hello> & "bye" — ünïcode`,
			Description: "A longer text with <tags> & ampersands,\n" +
				"second line\twith a tab\nüñí€ 😀",
			Packager: "Jane <jane@example.com>", URL: "https://example.com/?a=1&b=2",
			License: "MIT AND BSD-3-Clause", Vendor: `Acme "Corp"`, Group: "Applications/Misc",
			BuildHost: "builder.example.com", SourceRPM: "hello-1.2-3.el9.src.rpm",
			FileTime: 1700000100, BuildTime: 1700000000,
			PackageSize: 7947, InstalledSize: 22, ArchiveSize: 940,
			Location:    "pool/a9/a985d84d/hello-1.2-3.el9.x86_64.rpm",
			HeaderStart: 4504, HeaderEnd: 7725,
			Provides: []Dep{
				{Name: "config(hello)", Flags: "EQ", Epoch: "1", Ver: "1.2", Rel: "3.el9"},
				{Name: "hello", Flags: "EQ", Epoch: "1", Ver: "1.2", Rel: "3.el9"},
				{Name: "hello-api", Flags: "EQ", Epoch: "2", Ver: "3.4", Rel: "5"},
				{Name: "wéird<name"},
			},
			Requires: []Dep{
				{Name: "(foo or bar)"},
				{Name: "/bin/sh", Pre: true},
				{Name: "bash", Flags: "GE", Ver: "4.0"},
				{Name: "libc.so.6(GLIBC_2.34)(64bit)"},
			},
			Conflicts:   []Dep{{Name: "hello-old", Flags: "LT", Epoch: "0", Ver: "1.0"}},
			Obsoletes:   []Dep{{Name: "hello-ancient", Flags: "LE", Epoch: "0", Ver: "0.9"}},
			Recommends:  []Dep{{Name: "cowsay"}},
			Suggests:    []Dep{{Name: "fortune", Flags: "GT", Ver: "1"}},
			Supplements: []Dep{{Name: "(hello-extra and fish)"}},
			Enhances:    []Dep{{Name: "greeter", Pre: true}}, // pre is for requires only
			Files: []File{
				{Path: "/etc/hello", Type: "dir"},
				{Path: "/etc/hello/hello.conf"},
				{Path: "/etc/hello/hello.log", Type: "ghost"},
				{Path: "/opt/x/sbin/tool"},
				{Path: "/usr/bin/hello"},
				{Path: "/usr/lib/sendmail"},
				{Path: "/usr/share/hello", Type: "dir"},
				{Path: "/usr/share/hello/a&b <c>.txt"},
			},
			Changelogs: []Changelog{
				{Author: "Bob Old <bob@example.com> - 1.1-1", Date: 1700395200, Text: "- initial"},
				{Author: "Jürgen <j@example.com> - 1:1.2-3", Date: 1700481600, Text: "- Fix <bug> & stuff\n- second"},
			},
		},
		{
			Name: "min", Arch: "noarch", Version: "0.1", Release: "1",
			SHA256:  "5c1e3b27083b00f2808cd94453fcf097e1333e864ed0b087879267b4c694a93f",
			Summary: "minimal", Description: "d", License: "GPL", Group: "Unspecified",
			BuildHost: "vm", SourceRPM: "min-0.1-1.src.rpm",
			FileTime: 1795264722, BuildTime: 1795264722, PackageSize: 5501, ArchiveSize: 124,
			Location: "min-0.1-1.noarch.rpm", HeaderStart: 4504, HeaderEnd: 5453,
			Provides: []Dep{{Name: "min", Flags: "EQ", Epoch: "0", Ver: "0.1", Rel: "1"}},
			Requires: []Dep{{Name: ""}}, // nothing left: an empty list element
		},
		{
			Name: "hostile", Arch: "noarch", Version: "1", Release: "1",
			SHA256:      "0000000000000000000000000000000000000000000000000000000000000000",
			Summary:     "bell\a nul\x00 esc\x1b cr\r end",
			Description: "latin-1 M\xfcller \x85 and ]]> and \uFFFE\uFFFF gone",
			Location:    "weird \"name\" & <more>.rpm",
			Changelogs: []Changelog{
				{Author: "tab\tnewline\ncr\r\"quote\" \x01", Date: 1, Text: ""},
			},
			Files: []File{{Path: ""}, {Path: "/etc/\x7f\x01ctl"}},
		},
	}
}

func fixtureData() []Data {
	return []Data{
		{Type: "other", Checksum: "c262", OpenChecksum: "fd12", Size: 345, OpenSize: 516,
			Location: "repodata/c262-other.xml.gz", Timestamp: 1795264699},
		{Type: "updateinfo", Checksum: "aaaa", Size: 10, Location: "repodata/aaaa-updateinfo.xml", Timestamp: 1795264699},
		{Type: "primary", Checksum: "b35f", OpenChecksum: "5432", Size: 1008, OpenSize: 2417,
			Location: "repodata/b35f-primary.xml.gz", Timestamp: 1795264699},
		{Type: "filelists", Checksum: "796d", OpenChecksum: "f070", Size: 323, OpenSize: 569,
			Location: "repodata/796d-filelists.xml.gz", Timestamp: 1795264699},
	}
}

// documents renders the three package documents for pkgs, as a caller
// would.
func documents(pkgs []*Package) (primary, filelists, other []byte) {
	primary = PrimaryHeader(len(pkgs))
	filelists = FilelistsHeader(len(pkgs))
	other = OtherHeader(len(pkgs))
	for _, p := range pkgs {
		primary = AppendPrimary(primary, p)
		filelists = AppendFilelists(filelists, p)
		other = AppendOther(other, p)
	}
	primary = append(primary, PrimaryFooter()...)
	filelists = append(filelists, FilelistsFooter()...)
	other = append(other, OtherFooter()...)
	return primary, filelists, other
}

func TestGolden(t *testing.T) {
	primary, filelists, other := documents(fixtures())
	for _, tc := range []struct {
		file string
		got  []byte
	}{
		{"primary.xml", primary},
		{"filelists.xml", filelists},
		{"other.xml", other},
		{"repomd.xml", RepoMD(1795264699, fixtureData())},
	} {
		t.Run(tc.file, func(t *testing.T) {
			golden(t, filepath.Join("testdata", tc.file), tc.got)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended):\n%s", path, firstDiff(got, want))
	}
}

// firstDiff shows the first line where got and want part.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + strconv.Quote(gl) + "\nwant: " + strconv.Quote(wl)
		}
	}
	return "(same lines, different bytes)"
}

func TestAppendEscaped(t *testing.T) {
	for _, tc := range []struct {
		name, in          string
		text, attr, dattr string
	}{
		{"plain", "abc 123", "abc 123", "abc 123", "abc 123"},
		{"markup", `a&b<c>d"e'f`, `a&amp;b&lt;c&gt;d"e'f`, `a&amp;b&lt;c&gt;d&quot;e'f`, `a&amp;b&lt;c&gt;d&quot;e'f`},
		{"whitespace", "\t\n\r", "\t\n&#13;", "&#9;&#10;&#13;", "&#9;&#10;&#13;"},
		{"forbidden controls", "a\x00b\x01c\x1fd\x7fe", "abcd\x7fe", "abcd\x7fe", "abcd\x7fe"},
		{"non-ASCII", "ü Ω 😀", "ü Ω 😀", "&#xFC; &#x3A9; &#x1F600;", "ü Ω 😀"},
		{"noncharacters", "a\uFFFEb\uFFFFc\uFFFDd", "abc\uFFFDd", "abc&#xFFFD;d", "abc\uFFFDd"},
		{"latin-1", "M\xfcller \xc0", "Müller À", "M&#xFC;ller &#xC0;", "Müller À"},
		{"cp1252 bytes dropped", "\x80quote\x9f", "quote", "quote", "quote"},
		{"empty", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct {
				mode escapeMode
				want string
			}{{text, tc.text}, {attr, tc.attr}, {docAttr, tc.dattr}} {
				if got := string(appendEscaped([]byte("x"), tc.in, m.mode)); got != "x"+m.want {
					t.Errorf("mode %d: appendEscaped(%q) = %q, want %q", m.mode, tc.in, got, "x"+m.want)
				}
			}
		})
	}
}

func TestIsPrimaryFile(t *testing.T) {
	for path, want := range map[string]bool{
		"/etc/hello":            true,
		"/etc":                  false,
		"/usr/bin/hello":        true,
		"/usr/sbin/x":           true,
		"/opt/kerberos/bin/k":   true,
		"/usr/lib/sendmail":     true,
		"/usr/lib/sendmail.cf":  false,
		"/usr/share/doc/README": false,
		"/usr/lib64/libbin.so":  false,
		"/usr/share/cabin/x":    true, // "bin/" anywhere, as yum has always expected
	} {
		if got := IsPrimaryFile(path); got != want {
			t.Errorf("IsPrimaryFile(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestRepoMDOrder(t *testing.T) {
	data := fixtureData()
	a := RepoMD(7, data)
	for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
		data[i], data[j] = data[j], data[i]
	}
	if b := RepoMD(7, data); !bytes.Equal(a, b) {
		t.Fatalf("repomd.xml depends on the order of its records:\n%s\n%s", a, b)
	}
	got := string(a)
	if p, f, o, u := strings.Index(got, `"primary"`), strings.Index(got, `"filelists"`),
		strings.Index(got, `"other"`), strings.Index(got, `"updateinfo"`); !(p < f && f < o && o < u) {
		t.Fatalf("records not in createrepo_c's order:\n%s", got)
	}
}

// The documents must be read back by a real XML parser as the values that
// went in, less what XML cannot carry.
func TestParse(t *testing.T) {
	pkgs := fixtures()
	primary, filelists, other := documents(pkgs)

	var pdoc xmlPrimary
	if err := xml.Unmarshal(primary, &pdoc); err != nil {
		t.Fatalf("primary.xml: %v", err)
	}
	var fdoc xmlFilelists
	if err := xml.Unmarshal(filelists, &fdoc); err != nil {
		t.Fatalf("filelists.xml: %v", err)
	}
	var odoc xmlOther
	if err := xml.Unmarshal(other, &odoc); err != nil {
		t.Fatalf("other.xml: %v", err)
	}
	var rdoc xmlRepoMD
	if err := xml.Unmarshal(RepoMD(1, fixtureData()), &rdoc); err != nil {
		t.Fatalf("repomd.xml: %v", err)
	}
	if pdoc.Count != len(pkgs) || fdoc.Count != len(pkgs) || odoc.Count != len(pkgs) {
		t.Fatalf("packages= %d %d %d, want %d", pdoc.Count, fdoc.Count, odoc.Count, len(pkgs))
	}
	if len(rdoc.Data) != len(fixtureData()) || rdoc.Revision != 1 {
		t.Fatalf("repomd.xml read back as %+v", rdoc)
	}

	got := fromXML(&pdoc, &fdoc, &odoc)
	for i, want := range pkgs {
		want := sanitized(want)
		if d := diffPackage(got[i], want); d != "" {
			t.Errorf("package %s read back differently:\n%s", want.Name, d)
		}
	}
}

// sanitized is p as the documents carry it: strings made valid, forbidden
// characters dropped, defaults filled in, and files outside primary.xml's
// set kept (they come back from filelists.xml).
func sanitized(p *Package) *Package {
	c := *p
	s := func(v string) string {
		var b []byte
		b = appendEscaped(b, v, text)
		var out struct {
			V string `xml:",chardata"`
		}
		if err := xml.Unmarshal([]byte("<v>"+string(b)+"</v>"), &out); err != nil {
			panic(err)
		}
		return out.V
	}
	for _, f := range []*string{&c.Name, &c.Arch, &c.Epoch, &c.Version, &c.Release, &c.SHA256,
		&c.Summary, &c.Description, &c.Packager, &c.URL, &c.License, &c.Vendor, &c.Group,
		&c.BuildHost, &c.SourceRPM, &c.Location} {
		*f = s(*f)
	}
	if c.Epoch == "" {
		c.Epoch = "0"
	}
	deps := func(in []Dep, requires bool) []Dep {
		var out []Dep
		for _, d := range in {
			if d.Name == "" {
				continue
			}
			d.Name = s(d.Name)
			if d.Flags == "" {
				d.Epoch, d.Ver, d.Rel = "", "", ""
			} else if d.Epoch == "" && d.Ver != "" {
				d.Epoch = "0"
			}
			d.Pre = d.Pre && requires
			out = append(out, d)
		}
		return out
	}
	c.Provides, c.Requires = deps(p.Provides, false), deps(p.Requires, true)
	c.Conflicts, c.Obsoletes = deps(p.Conflicts, false), deps(p.Obsoletes, false)
	c.Recommends, c.Suggests = deps(p.Recommends, false), deps(p.Suggests, false)
	c.Supplements, c.Enhances = deps(p.Supplements, false), deps(p.Enhances, false)
	c.Files = nil
	for _, f := range p.Files {
		if f.Path != "" {
			c.Files = append(c.Files, File{Path: s(f.Path), Type: f.Type})
		}
	}
	c.Changelogs = nil
	for _, ch := range p.Changelogs {
		c.Changelogs = append(c.Changelogs, Changelog{Author: s(ch.Author), Date: ch.Date, Text: s(ch.Text)})
	}
	return &c
}

func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"", "a&b", "\x00\r\n\t\"", "M\xfcller", "\uFFFE😀", "]]>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b []byte
		b = append(b, `<e a="`...)
		b = appendEscaped(b, s, attr)
		b = append(b, `" d="`...)
		b = appendEscaped(b, s, docAttr)
		b = append(b, `">`...)
		b = appendEscaped(b, s, text)
		b = append(b, `</e>`...)
		var e struct {
			A string `xml:"a,attr"`
			D string `xml:"d,attr"`
			T string `xml:",chardata"`
		}
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("%q escaped to %q, which does not parse: %v", s, b, err)
		}
		if e.A != e.T || e.D != e.T {
			t.Fatalf("%q: attribute %q, document attribute %q and text %q differ", s, e.A, e.D, e.T)
		}
		if clean(s) && e.T != s {
			t.Fatalf("%q read back as %q", s, e.T)
		}
	})
}

// clean reports whether XML carries s unchanged.
func clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

func BenchmarkAppendPrimary(b *testing.B) {
	p := fixtures()[0]
	buf := AppendPrimary(nil, p)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPrimary(buf[:0], p)
	}
}
