package deb

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

//go:generate go run testdata/gen.go -dir testdata

func TestReadGood(t *testing.T) {
	allFiles := []string{"control", "conffiles", "md5sums", "postinst"}
	conffiles := []string{"/etc/hello.conf", "/etc/hello-old.conf"}
	tests := []struct {
		file            string
		controlComp     string
		dataComp        string
		members         []string
		controlFiles    []string
		conffiles       []string
		controlTarLimit int64
	}{
		{"hello-gzip.deb", "gz", "gz", nil, allFiles, conffiles, 0},
		{"hello-xz.deb", "xz", "xz", nil, allFiles, conffiles, 0},
		{"hello-zstd.deb", "zst", "zst", nil, allFiles, conffiles, 0},
		{"hello-none.deb", "", "", nil, allFiles, conffiles, 0},
		{"hello-gnu-ar.deb", "gz", "gz", nil, allFiles, conffiles, 0},
		{"hello-signed.deb", "gz", "gz", []string{"debian-binary", "control.tar.gz", "data.tar.gz", "_gpgorigin"}, allFiles, conffiles, 0},
		{"hello-underscore-member.deb", "gz", "gz", []string{"debian-binary", "_extra", "control.tar.gz", "data.tar.gz"}, allFiles, conffiles, 0},
		{"hello-data-bz2.deb", "gz", "bz2", nil, allFiles, conffiles, 0},
		// Valid xz whose header asks for a 4 GiB dictionary.
		{"hello-xz-huge-dict.deb", "xz", "gz", nil, allFiles, conffiles, 0},
		{"control-symlink-inside.deb", "gz", "gz", nil, []string{"control", "scripts/postinst"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readFile(t, tt.file)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			pkg, err := Read(bytes.NewReader(b), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("Read allocated %d bytes", alloc)
			}
			if pkg.Name != "hello" || pkg.Version != "1:1.0~rc1-1" || pkg.Architecture != "amd64" {
				t.Errorf("got %s %s %s", pkg.Name, pkg.Version, pkg.Architecture)
			}
			if got := pkg.Control.Get("Description"); got != "test package\n A package for the tests of the deb reader.\n .\n Second paragraph." {
				t.Errorf("Description = %q", got)
			}
			if names := fieldNames(pkg); !reflect.DeepEqual(names, []string{"Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Section", "Priority", "Description"}) {
				t.Errorf("fields %q", names)
			}
			if pkg.ControlCompression != tt.controlComp || pkg.DataCompression != tt.dataComp {
				t.Errorf("compression %q, %q; want %q, %q", pkg.ControlCompression, pkg.DataCompression, tt.controlComp, tt.dataComp)
			}
			if pkg.FormatVersion != "2.0" {
				t.Errorf("FormatVersion = %q", pkg.FormatVersion)
			}
			if !sameSet(pkg.ControlFiles, tt.controlFiles) {
				t.Errorf("ControlFiles = %q, want %q", pkg.ControlFiles, tt.controlFiles)
			}
			if !reflect.DeepEqual(pkg.Conffiles, tt.conffiles) {
				t.Errorf("Conffiles = %q, want %q", pkg.Conffiles, tt.conffiles)
			}
			if pkg.Size != int64(len(b)) {
				t.Errorf("Size = %d, want %d", pkg.Size, len(b))
			}
			var names []string
			var total int64 = 8
			for _, m := range pkg.Members {
				names = append(names, m.Name)
				total += 60 + m.Size + m.Size%2
			}
			if total != int64(len(b)) {
				t.Errorf("member sizes add up to %d, file is %d", total, len(b))
			}
			if tt.members != nil && !reflect.DeepEqual(names, tt.members) {
				t.Errorf("members %q, want %q", names, tt.members)
			}
		})
	}
}

func TestReadBad(t *testing.T) {
	tests := []struct {
		file     string
		tooLarge bool
		want     string
	}{
		{"empty.deb", false, "empty file"},
		{"bad-magic.deb", false, "no ar archive magic"},
		{"not-ar.deb", false, "no ar archive magic"},
		{"truncated.deb", false, `truncated in member "data.tar.xz"`},
		{"truncated-header.deb", false, "truncated: 60-byte member header ends after 30 bytes"},
		{"trailing-garbage.deb", false, "trailing garbage after the last member"},
		{"member-order.deb", false, `member "data.tar.gz" where control.tar was expected`},
		{"missing-control.deb", false, `member "data.tar.gz" where control.tar was expected`},
		{"missing-data.deb", false, "no data.tar member"},
		{"first-not-debian-binary.deb", false, `first member is "control.tar.gz"`},
		{"debian-binary-3.deb", false, `unsupported format version "3.0"`},
		{"control-bz2.deb", false, `member "control.tar.bz2": unsupported compression`},
		{"duplicate-data.deb", false, `member "data.tar.gz" repeats a member`},
		{"bad-member-size.deb", false, `size "12a       " is not a decimal number`},
		{"bad-member-terminator.deb", false, "does not end in"},
		{"bad-padding.deb", false, `member "_odd": padding byte is 'X'`},
		{"control-dotdot.deb", false, `control.tar.gz: entry "../evil" escapes the archive`},
		{"control-dotdot-inside.deb", false, `entry "./a/../postinst" has a ".." component`},
		{"control-absolute.deb", false, `entry "/etc/passwd" has an absolute path`},
		{"control-symlink-outside.deb", false, `entry "./postinst" is a symbolic link to "../../bin/sh", outside the archive`},
		{"control-below-symlink.deb", false, `entry "./d/x" is below symbolic link "d"`},
		{"control-hardlink-outside.deb", false, `entry "./postinst" is a hard link to "../etc/shadow"`},
		{"control-device.deb", false, `entry "./null" is a character device`},
		{"control-missing.deb", false, "control.tar.gz: no control file"},
		{"control-duplicate-entry.deb", false, `duplicate entry "control"`},
		{"control-not-regular.deb", false, "control is not a regular file"},
		{"control-no-arch.deb", false, "control file has no Architecture field"},
		{"control-bad-name.deb", false, `invalid package name "Hello_World"`},
		{"control-bad-version.deb", false, `invalid version "1.0-": revision is empty`},
		{"control-bad-arch.deb", false, `invalid architecture "AMD 64"`},
		{"control-syntax.deb", false, `control file: deb822 syntax error: line 12: no colon`},
		{"control-two-paragraphs.deb", false, "more than one paragraph"},
		{"control-bad-conffiles.deb", false, `conffiles: line 1: "etc/relative.conf" is not an absolute path`},
		{"control-file-too-large.deb", true, "control file is 2123581 bytes, over the limit of 1048576"},
		{"control-bomb.deb", true, `member "control.tar.zst" unpacks to more than the limit of 67108864 bytes`},
		{"control-corrupt-gzip.deb", false, `member "control.tar.gz"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pkg, err := Read(bytes.NewReader(readFile(t, tt.file)), Limits{})
			if err == nil {
				t.Fatalf("no error; got %+v", pkg)
			}
			if pkg != nil {
				t.Error("got a package with the error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if errors.Is(err, ErrTooLarge) != tt.tooLarge {
				t.Errorf("%v: errors.Is(ErrTooLarge) = %v, want %v", err, !tt.tooLarge, tt.tooLarge)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestEveryTestdataFileIsCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.deb"))
	if err != nil || len(files) < 10 {
		t.Fatalf("testdata: %v, %d files", err, len(files))
	}
	for _, f := range files {
		base := filepath.Base(f)
		_, err := Read(bytes.NewReader(readFile(t, base)), Limits{})
		good := strings.HasPrefix(base, "hello-") || base == "control-symlink-inside.deb"
		if good != (err == nil) {
			t.Errorf("%s: error %v", base, err)
		}
	}
}

func TestLimits(t *testing.T) {
	b := readFile(t, "hello-gzip.deb")
	tests := []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxControlTar: 100}, `member "control.tar.gz" is 475 bytes, over the limit of 100`},
		{Limits{MaxControlUnpacked: 4096}, "unpacks to more than the limit of 4096 bytes"},
		{Limits{MaxControlFile: 100}, "control file is 247 bytes, over the limit of 100"},
	}
	for _, tt := range tests {
		_, err := Read(bytes.NewReader(b), tt.lim)
		if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want ErrTooLarge containing %q", tt.lim, err, tt.want)
		}
	}
	// Exactly at the bound is allowed.
	for _, f := range []string{"hello-gzip.deb", "hello-xz.deb", "hello-zstd.deb", "hello-none.deb"} {
		if _, err := Read(bytes.NewReader(readFile(t, f)), Limits{MaxControlUnpacked: 10240}); err != nil {
			t.Errorf("%s with the bound at the unpacked size: %v", f, err)
		}
	}
}

func TestTooManyMembers(t *testing.T) {
	b := readFile(t, "hello-gzip.deb")
	for range maxMembers {
		b = append(b, arHeaderFor("_sig", 0)...)
	}
	_, err := Read(bytes.NewReader(b), Limits{})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 64 ar members") {
		t.Errorf("got %v", err)
	}
}

func TestReadSmallReads(t *testing.T) {
	for _, f := range []string{"hello-xz.deb", "hello-zstd.deb", "hello-signed.deb"} {
		pkg, err := Read(iotest.OneByteReader(bytes.NewReader(readFile(t, f))), Limits{})
		if err != nil || pkg.Name != "hello" {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestReadIOError(t *testing.T) {
	b := readFile(t, "hello-xz.deb")
	boom := errors.New("connection reset")
	for _, n := range []int{0, 30, 100, 200, 400, len(b) - 10} {
		r := io.MultiReader(bytes.NewReader(b[:n]), iotest.ErrReader(boom))
		_, err := Read(r, Limits{})
		if !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
			t.Errorf("failing after %d bytes: got %v, want %v and not ErrInvalid", n, err, boom)
		}
	}
}

// TestReadTruncatedEverywhere cuts a package at every length.
func TestReadTruncatedEverywhere(t *testing.T) {
	for _, f := range []string{"hello-gzip.deb", "hello-xz.deb", "hello-zstd.deb"} {
		b := readFile(t, f)
		for n := range len(b) {
			_, err := Read(bytes.NewReader(b[:n]), Limits{})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s cut at %d: got %v", f, n, err)
			}
		}
	}
}

func TestReadConsumesEverything(t *testing.T) {
	b := readFile(t, "hello-signed.deb")
	r := bytes.NewReader(b)
	if _, err := Read(r, Limits{}); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left unread", r.Len())
	}
}

func FuzzRead(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.deb"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		if strings.Contains(file, "bomb") || strings.Contains(file, "too-large") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := Limits{MaxControlTar: 64 << 10, MaxControlUnpacked: 1 << 20, MaxControlFile: 64 << 10}
	// Unpacking the data archive too covers ReadWith's decompressors; the
	// copy is bounded so that a small input cannot unpack for minutes.
	opts := ReadOptions{ControlData: true, Data: func(_ *Package, r io.Reader) error {
		_, err := io.CopyN(io.Discard, r, 1<<20)
		if err == io.EOF {
			err = nil
		}
		return err
	}}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkg, err := ReadWith(bytes.NewReader(b), lim, opts)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if pkg.Name == "" || pkg.Version == "" || pkg.Architecture == "" || len(pkg.Control) == 0 {
			t.Fatalf("accepted a package without its fields: %+v", pkg)
		}
		if pkg.Size != int64(len(b)) {
			t.Fatalf("Size = %d, input is %d", pkg.Size, len(b))
		}
	})
}

// BenchmarkRead reads a package whose data member is 50 MB, the cost that
// matters for uploads: skipping it must run at memory speed.
func BenchmarkRead(b *testing.B) {
	ms := splitAR(b, readFile(b, "hello-xz.deb"))
	data := make([]byte, 50<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range []arMember{ms[0], ms[1], {"data.tar.xz", data}} {
		buf.WriteString(arHeaderFor(m.name, len(m.data)))
		buf.Write(m.data)
		if len(m.data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	deb := buf.Bytes()
	b.SetBytes(int64(len(deb)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(deb), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

type arMember struct {
	name string
	data []byte
}

func splitAR(tb testing.TB, b []byte) []arMember {
	tb.Helper()
	var ms []arMember
	b = b[8:]
	for len(b) > 0 {
		size, ok := parseSize(b[48:58])
		if !ok {
			tb.Fatalf("bad size %q", b[48:58])
		}
		ms = append(ms, arMember{strings.TrimRight(string(b[:16]), " /"), b[60 : 60+size]})
		b = b[60+size+size%2:]
	}
	return ms
}

func arHeaderFor(name string, size int) string {
	return fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", size)
}

func bufioReader(b []byte) *bufio.Reader {
	return bufio.NewReader(bytes.NewReader(b))
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fieldNames(pkg *Package) []string {
	var names []string
	for _, f := range pkg.Control {
		names = append(names, f.Name)
	}
	return names
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestReadWith(t *testing.T) {
	for _, f := range []string{"hello-gzip.deb", "hello-xz.deb", "hello-zstd.deb", "hello-none.deb"} {
		t.Run(f, func(t *testing.T) {
			b := readFile(t, f)
			var files []string
			var readme []byte
			r := bytes.NewReader(b)
			pkg, err := ReadWith(r, Limits{}, ReadOptions{
				ControlData: true,
				Data: func(p *Package, data io.Reader) error {
					if p.Name != "hello" {
						t.Errorf("Data called before the control file was read: %+v", p)
					}
					tr := tar.NewReader(data)
					for {
						h, err := tr.Next()
						if err == io.EOF {
							return nil
						}
						if err != nil {
							return err
						}
						files = append(files, strings.TrimPrefix(h.Name, "./"))
						if strings.HasSuffix(h.Name, "README") {
							if readme, err = io.ReadAll(tr); err != nil {
								return err
							}
						}
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != 0 {
				t.Errorf("%d bytes left unread", r.Len())
			}
			if got := string(pkg.ControlData["postinst"]); got != "#!/bin/sh\nexit 0\n" {
				t.Errorf("postinst = %q", got)
			}
			if !strings.Contains(string(pkg.ControlData["md5sums"]), "usr/share/doc/hello/README") {
				t.Errorf("md5sums = %q", pkg.ControlData["md5sums"])
			}
			if len(pkg.ControlData) != 4 {
				t.Errorf("ControlData holds %d files, want 4", len(pkg.ControlData))
			}
			if string(readme) != "hello\n" {
				t.Errorf("README = %q", readme)
			}
			if !slices.Contains(files, "etc/hello.conf") {
				t.Errorf("data files %q", files)
			}
		})
	}
}

func TestReadWithoutControlData(t *testing.T) {
	pkg, err := Read(bytes.NewReader(readFile(t, "hello-gzip.deb")), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if pkg.ControlData != nil {
		t.Errorf("Read kept control files: %q", slices.Collect(maps.Keys(pkg.ControlData)))
	}
}

func TestReadWithDataErrors(t *testing.T) {
	drain := ReadOptions{Data: func(_ *Package, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}}
	// Cut inside the data member: the file's truncation is what is
	// reported, not a decompressor's complaint.
	b := readFile(t, "hello-xz.deb")
	ms := splitAR(t, b)
	last := ms[len(ms)-1]
	for _, n := range []int{len(b) - len(last.data)/2, len(b) - 2} {
		_, err := ReadWith(bytes.NewReader(b[:n]), Limits{}, drain)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut at %d of %d: got %v", n, len(b), err)
		}
	}
	// bzip2 is accepted for an index but cannot be unpacked.
	_, err := ReadWith(bytes.NewReader(readFile(t, "hello-data-bz2.deb")), Limits{}, drain)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cannot be unpacked") {
		t.Errorf("bz2 data: got %v", err)
	}
	// The callback's own error comes back as it is.
	boom := errors.New("disk full")
	_, err = ReadWith(bytes.NewReader(b), Limits{}, ReadOptions{Data: func(*Package, io.Reader) error { return boom }})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}
