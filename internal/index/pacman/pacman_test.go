package pacman

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func fixtures() []*Package {
	return []*Package{
		{
			Filename: "hello-1:1.0-2-x86_64.pkg.tar.zst", Name: "hello", Base: "hello-base", Version: "1:1.0-2",
			Desc: "Says   hello\t& <bye>  ", URL: "https://example.com/?a=1&b=2", Arch: "x86_64",
			Packager: "Jane <jane@example.com>",
			MD5:      "ee67243cdf352a69cd401ceb2930978d",
			SHA256:   "e24cab6e2d3749b852aad0d061d98fe4d3841abfa3a15e38de783b07049dba3d",
			PGPSig:   "iQEzBAABCAAdFiEE\nAAAA\n",
			CSize:    505, ISize: 12345, BuildDate: 1700000000,
			Groups: []string{"greeters"}, Licenses: []string{"MIT", "custom:Foo"},
			Replaces: []string{"oldhello"}, Depends: []string{"glibc>=2.30", "libgreet"},
			Conflicts: []string{"hello-git"}, Provides: []string{"hello-api=2"},
			OptDepends:  []string{"fortune: for fortunes"},
			MakeDepends: []string{"gcc"}, CheckDepends: []string{"bats"},
			Files: []string{"usr/bin/hello", ".PKGINFO", "usr/", "etc/hello.conf", "usr/bin/", "etc/", "usr/bin/hello", ".MTREE"},
		},
		{
			// Nothing optional: no base, description, URL, packager, lists.
			Filename: "libgreet-0.1-1-any.pkg.tar.zst", Name: "libgreet", Version: "0.1-1", Arch: "any",
			SHA256: "5c1e3b27083b00f2808cd94453fcf097e1333e864ed0b087879267b4c694a93f",
			CSize:  100, ISize: 0, BuildDate: 1,
			Depends: []string{"", "  "}, // empty values are left out, and so is the field
		},
		{
			// A description that tries to add a field of its own.
			Filename: "evil-1-1-any.pkg.tar.zst", Name: "evil", Version: "1-1", Arch: "any",
			Desc:   "innocent\n\n%DEPENDS%\nbackdoor",
			SHA256: "0000000000000000000000000000000000000000000000000000000000000000",
			Files:  []string{"usr/share/evil/with space"},
		},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file      string
		withFiles bool
	}{{"core.db.txt", false}, {"core.files.txt", true}} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteDB(&buf, fixtures(), tc.withFiles); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tc.file), []byte(listing(t, buf.Bytes())))
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
		t.Errorf("%s differs from the golden file (run with -update if the change is intended):\ngot:\n%s", path, got)
	}
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

func readDB(t *testing.T, db []byte) []entry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(db))
	if err != nil {
		t.Fatal(err)
	}
	var out []entry
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr, data})
	}
}

// listing renders a database as text for the golden files: each entry's
// header, then its content.
func listing(t *testing.T, db []byte) string {
	var b strings.Builder
	for _, e := range readDB(t, db) {
		fmt.Fprintf(&b, "== %s type=%c mode=%o mtime=%d owner=%s/%s size=%d\n",
			e.hdr.Name, e.hdr.Typeflag, e.hdr.Mode, e.hdr.ModTime.Unix(), e.hdr.Uname, e.hdr.Gname, e.hdr.Size)
		b.Write(e.data)
	}
	return b.String()
}

func TestWriteDBReproducible(t *testing.T) {
	pkgs := fixtures()
	before := slices.Clone(pkgs)
	var a, b bytes.Buffer
	if err := WriteDB(&a, pkgs, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pkgs, before) {
		t.Fatal("WriteDB reordered the caller's slice")
	}
	slices.Reverse(pkgs)
	if err := WriteDB(&b, pkgs, true); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the database depends on the order of the packages")
	}
	var names []string
	for _, e := range readDB(t, a.Bytes()) {
		names = append(names, e.hdr.Name)
	}
	if !slices.IsSorted(names) {
		t.Fatalf("entries not sorted: %q", names)
	}
}

func TestWriteDBEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteDB(&buf, nil, false); err != nil {
		t.Fatal(err)
	}
	if e := readDB(t, buf.Bytes()); len(e) != 0 {
		t.Fatalf("empty database has entries %v", e)
	}
}

func TestWriteDBInvalid(t *testing.T) {
	ok := func() *Package {
		return &Package{Filename: "a-1-1-any.pkg.tar.zst", Name: "a", Version: "1-1"}
	}
	for _, tc := range []struct {
		name   string
		change func(p *Package)
	}{
		{"empty name", func(p *Package) { p.Name = "" }},
		{"slash in name", func(p *Package) { p.Name = "a/b" }},
		{"newline in name", func(p *Package) { p.Name = "a\nb" }},
		{"name starting with a dot", func(p *Package) { p.Name = ".a" }},
		{"no pkgrel", func(p *Package) { p.Version = "1.0" }},
		{"two hyphens", func(p *Package) { p.Version = "1-2-3" }},
		{"empty pkgrel", func(p *Package) { p.Version = "1-" }},
		{"space in version", func(p *Package) { p.Version = "1 0-1" }},
		{"no file name", func(p *Package) { p.Filename = "" }},
		{"file name with a directory", func(p *Package) { p.Filename = "x/a.pkg.tar.zst" }},
		{"hidden file name", func(p *Package) { p.Filename = ".a.pkg.tar.zst" }},
		{"newline in a file", func(p *Package) { p.Files = []string{"usr/a\nb"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok()
			tc.change(p)
			err := WriteDB(io.Discard, []*Package{p}, true)
			if !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("WriteDB = %v, want ErrInvalidPackage", err)
			}
		})
	}
	t.Run("two of a name", func(t *testing.T) {
		a, b, c := ok(), ok(), ok()
		b.Name = "a-1x" // sorts between the two a's
		c.Version = "2-1"
		if err := WriteDB(io.Discard, []*Package{a, b, c}, false); !errors.Is(err, ErrInvalidPackage) {
			t.Fatalf("WriteDB = %v, want ErrInvalidPackage", err)
		}
	})
	if err := WriteDB(io.Discard, []*Package{ok()}, true); err != nil {
		t.Fatalf("the valid package: %v", err)
	}
}

func TestAppendDesc(t *testing.T) {
	p := &Package{
		Filename: "a-1-1-any.pkg.tar.zst", Name: "a", Version: "1-1",
		Desc: " lead  and\ttrail \n", PGPSig: "AA\nBB CC\n", Depends: []string{"b", "", "c  >=  1"},
	}
	want := "%FILENAME%\na-1-1-any.pkg.tar.zst\n\n%NAME%\na\n\n%VERSION%\n1-1\n\n" +
		"%DESC%\nlead and trail\n\n%CSIZE%\n0\n\n%ISIZE%\n0\n\n%PGPSIG%\nAABBCC\n\n" +
		"%BUILDDATE%\n0\n\n%DEPENDS%\nb\nc >= 1\n\n"
	if got := string(AppendDesc(nil, p)); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

// FuzzAppendDesc checks that no value can end its field early, and so
// add a field to a desc entry.
func FuzzAppendDesc(f *testing.F) {
	f.Add("innocent\n\n%DEPENDS%\nbackdoor", "dep")
	f.Add("\r\v\f", "\n%NAME%\n")
	f.Fuzz(func(t *testing.T, desc, dep string) {
		p := &Package{Filename: "a-1-1-any.pkg.tar.zst", Name: "a", Version: "1-1", Desc: desc,
			URL: desc, Packager: dep, Depends: []string{dep, desc}, Licenses: []string{desc}}
		// As libalpm reads it (sync_db_read): a field's name is the first
		// line after a blank one, and its values run to the next blank line.
		var names []string
		header := true
		for _, l := range strings.Split(string(AppendDesc(nil, p)), "\n") {
			switch {
			case l == "":
				header = true
			case header:
				names = append(names, l)
				header = false
			}
		}
		want := []string{"%FILENAME%", "%NAME%", "%VERSION%"}
		set := clean(desc) != ""
		if set {
			want = append(want, "%DESC%")
		}
		want = append(want, "%CSIZE%", "%ISIZE%")
		if set {
			want = append(want, "%URL%", "%LICENSE%")
		}
		want = append(want, "%BUILDDATE%")
		if clean(dep) != "" {
			want = append(want, "%PACKAGER%")
		}
		if set || clean(dep) != "" {
			want = append(want, "%DEPENDS%")
		}
		if !slices.Equal(names, want) {
			t.Fatalf("fields %q, want %q", names, want)
		}
	})
}

// listedTests are archive entry names and whether repo-add lists them;
// TestListedBsdtar asks bsdtar.
var listedTests = []struct {
	name   string
	listed bool
}{
	{".PKGINFO", false}, {".BUILDINFO", false}, {".MTREE", false}, {".INSTALL", false}, {".CHANGELOG", false},
	{".hidden/file", false}, {".", false}, {"./.PKGINFO", false}, {".//.x", false}, {"././.x", false},
	{"usr", true}, {"usr/bin/", true}, {"usr/.hidden", true}, {"usr/./.x", true}, {"./", true}, {"./.", true},
	{"./usr/bin/x", true}, {".//usr", true}, {"././usr", true}, {"usr//w", true}, {"..x", false},
}

func TestListed(t *testing.T) {
	for _, tc := range listedTests {
		if got := Listed(tc.name); got != tc.listed {
			t.Errorf("Listed(%q) = %v, want %v", tc.name, got, tc.listed)
		}
	}
}
