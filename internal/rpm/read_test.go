package rpm

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/index/rpmmd"
	"github.com/packhouse/packhouse/internal/testtool"
)

// testHeader is a parsed header, for tests: tag → (type, raw value).
type testHeader struct {
	index []entry // in file order, offsets in entry.data are not kept
	raw   map[int32]entry
	blob  []byte
}

// readTestHeader parses one header blob from r, independently of the
// writer's code, checking the invariants rpm checks on import.
func readTestHeader(t *testing.T, r io.Reader) *testHeader {
	t.Helper()
	var pre [16]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		t.Fatalf("header preamble: %v", err)
	}
	if !bytes.Equal(pre[:8], headerMagic[:]) {
		t.Fatalf("header magic %x", pre[:8])
	}
	il := binary.BigEndian.Uint32(pre[8:])
	dl := binary.BigEndian.Uint32(pre[12:])
	rest := make([]byte, 16*il+dl)
	if _, err := io.ReadFull(r, rest); err != nil {
		t.Fatalf("header body: %v", err)
	}
	h := &testHeader{raw: map[int32]entry{}, blob: append(pre[:], rest...)}
	data := rest[16*il:]
	lastEnd := uint32(0)
	for i := uint32(0); i < il; i++ {
		e := rest[16*i:]
		tag := int32(binary.BigEndian.Uint32(e))
		typ := binary.BigEndian.Uint32(e[4:])
		off := binary.BigEndian.Uint32(e[8:])
		cnt := binary.BigEndian.Uint32(e[12:])
		if off > dl {
			t.Fatalf("tag %d offset %d beyond data %d", tag, off, dl)
		}
		if a := uint32(typeAlign(typ)); off%a != 0 {
			t.Errorf("tag %d type %d misaligned at %d", tag, typ, off)
		}
		var end uint32
		switch typ {
		case typeString, typeI18NString, typeStringArray:
			end = off
			for j := uint32(0); j < cnt; j++ {
				k := bytes.IndexByte(data[end:], 0)
				if k < 0 {
					t.Fatalf("tag %d: unterminated string", tag)
				}
				end += uint32(k) + 1
			}
		default:
			end = off + cnt*uint32(map[uint32]int{typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8, typeBin: 1}[typ])
		}
		if i == 0 {
			if tag != tagHeaderImmutable && tag != tagHeaderSignatures || typ != typeBin || cnt != 16 || end != dl {
				t.Fatalf("first entry is not a region at the end of the data: tag %d type %d count %d end %d/%d", tag, typ, cnt, end, dl)
			}
			tr := data[off:]
			if int32(binary.BigEndian.Uint32(tr)) != tag || binary.BigEndian.Uint32(tr[4:]) != typeBin ||
				int32(binary.BigEndian.Uint32(tr[8:])) != -int32(16*il) || binary.BigEndian.Uint32(tr[12:]) != 16 {
				t.Fatalf("region trailer %x", tr[:16])
			}
		} else {
			if off < lastEnd {
				t.Errorf("tag %d overlaps its predecessor", tag)
			}
			if prev := h.index[len(h.index)-1].tag; i > 1 && tag <= prev {
				t.Errorf("tags not sorted: %d after %d", tag, prev)
			}
			lastEnd = end
		}
		en := entry{tag: tag, typ: typ, count: cnt, data: data[off:end]}
		h.index = append(h.index, en)
		h.raw[tag] = en
	}
	return h
}

func (h *testHeader) strings(tag int32) []string {
	e, ok := h.raw[tag]
	if !ok {
		return nil
	}
	s := strings.Split(string(e.data), "\x00")
	return s[:len(s)-1]
}

func (h *testHeader) str(tag int32) string {
	if s := h.strings(tag); len(s) > 0 {
		return s[0]
	}
	return ""
}

func (h *testHeader) ints(tag int32) []int64 {
	e, ok := h.raw[tag]
	if !ok {
		return nil
	}
	var out []int64
	for i := uint32(0); i < e.count; i++ {
		switch e.typ {
		case typeInt16:
			out = append(out, int64(binary.BigEndian.Uint16(e.data[2*i:])))
		case typeInt32:
			out = append(out, int64(int32(binary.BigEndian.Uint32(e.data[4*i:]))))
		case typeInt64:
			out = append(out, int64(binary.BigEndian.Uint64(e.data[8*i:])))
		}
	}
	return out
}

// testPackage is a package file split into its parts.
type testPackage struct {
	lead    []byte
	sig     *testHeader
	hdr     *testHeader
	payload []byte
}

func readTestPackage(t *testing.T, name string) *testPackage {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	p := &testPackage{lead: make([]byte, 96)}
	io.ReadFull(r, p.lead)
	p.sig = readTestHeader(t, r)
	if pad := (8 - len(p.sig.blob)%8) % 8; pad > 0 {
		io.CopyN(io.Discard, r, int64(pad))
	}
	p.hdr = readTestHeader(t, r)
	p.payload, _ = io.ReadAll(r)
	return p
}

func (h *testHeader) String() string {
	var b strings.Builder
	for _, e := range h.index {
		fmt.Fprintf(&b, "%d/%d/%d ", e.tag, e.typ, e.count)
	}
	return b.String()
}

// rawIndex is an index entry as stored, for building headers right or
// wrong.
type rawIndex struct {
	tag             int32
	typ, off, count uint32
}

// headerBlob builds a header from an index and a data store as given.
func headerBlob(index []rawIndex, data []byte) []byte {
	b := append([]byte(nil), headerMagic[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(index)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	for _, e := range index {
		b = binary.BigEndian.AppendUint32(b, uint32(e.tag))
		b = binary.BigEndian.AppendUint32(b, e.typ)
		b = binary.BigEndian.AppendUint32(b, e.off)
		b = binary.BigEndian.AppendUint32(b, e.count)
	}
	return append(b, data...)
}

// marshalPlain serialises h without a region, as rpm 3 wrote headers.
func marshalPlain(h *header) []byte {
	es := make([]entry, 0, len(h.entries))
	for _, e := range h.entries {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].tag < es[j].tag })
	var index []rawIndex
	var data []byte
	for _, e := range es {
		for len(data)%typeAlign(e.typ) != 0 {
			data = append(data, 0)
		}
		index = append(index, rawIndex{e.tag, e.typ, uint32(len(data)), e.count})
		data = append(data, e.data...)
	}
	return headerBlob(index, data)
}

// signatureFor builds a signature header for the main header hdr, with
// its digests unless digests is false; edit may change it further.
func signatureFor(hdr []byte, payloadSize, archiveSize int64, digests bool, edit func(*header)) []byte {
	s := newHeader()
	if digests {
		sum1 := sha1.Sum(hdr)
		sum256 := sha256.Sum256(hdr)
		s.String(sigSHA1, hex.EncodeToString(sum1[:]))
		s.String(sigSHA256, hex.EncodeToString(sum256[:]))
	}
	s.Int32(sigSize, int32(int64(len(hdr))+payloadSize))
	s.Int32(sigPayloadSize, int32(archiveSize))
	if edit != nil {
		edit(s)
	}
	b, err := s.Marshal(tagHeaderSignatures)
	if err != nil {
		panic(err)
	}
	return b
}

// testLead is the lead of a binary package.
func testLead() []byte {
	return (&pkg{name: "x", version: "1", release: "1", arch: "noarch"}).lead()
}

// packageBytes puts a package together, padding the signature header.
func packageBytes(lead, sig, hdr, payload []byte) []byte {
	b := append(append([]byte(nil), lead...), sig...)
	b = append(b, make([]byte, (8-len(sig)%8)%8)...)
	return append(append(b, hdr...), payload...)
}

// minimalHeader is a main header with only what Read requires.
func minimalHeader() *header {
	h := newHeader()
	h.String(tagName, "x")
	h.String(tagVersion, "1")
	h.String(tagRelease, "1")
	h.String(tagArch, "noarch")
	h.String(tagSourceRPM, "x-1-1.src.rpm")
	return h
}

func minimalPackage(t testing.TB, hdr []byte) []byte {
	t.Helper()
	return packageBytes(testLead(), signatureFor(hdr, 0, 0, true, nil), hdr, nil)
}

// TestReadWritten reads back what Write wrote.
func TestReadWritten(t *testing.T) {
	p := samplePackage(t)
	p.Epoch = "2"
	p.Packager = "Builder <builder@example.com>"
	name := writePackage(t, p, WriteOptions{})
	pkg := readTestPackage(t, name)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := Read(f, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// Read stops where the payload starts.
	if rest, _ := io.ReadAll(f); !bytes.Equal(rest, pkg.payload) {
		t.Errorf("after Read, %d bytes are left, want the %d of the payload", len(rest), len(pkg.payload))
	}
	start := int64(96 + len(pkg.sig.blob) + (8-len(pkg.sig.blob)%8)%8)
	evr := func(flags string) rpmmd.Dep { return rpmmd.Dep{Flags: flags, Epoch: "2", Ver: "1.2.3", Rel: "4"} }
	named := func(name string, d rpmmd.Dep) rpmmd.Dep { d.Name = name; return d }
	want := rpmmd.Package{
		Name: "hello", Arch: "x86_64", Epoch: "2", Version: "1.2.3", Release: "4",
		Summary: "Says hello", Description: "A package that says hello.\nOn two lines.",
		Packager: "Builder <builder@example.com>", URL: "https://example.com/hello",
		License: "MIT", Vendor: "ACME", Group: "Applications/System", BuildHost: "packhouse",
		SourceRPM: "hello-1.2.3-4.src.rpm", BuildTime: buildTime.Unix(),
		InstalledSize: pkg.hdr.ints(tagSize)[0], ArchiveSize: pkg.sig.ints(sigPayloadSize)[0],
		HeaderStart: start, HeaderEnd: start + int64(len(pkg.hdr.blob)),
		Provides: []rpmmd.Dep{
			named("config(hello)", evr("EQ")), {Name: "greeter"}, named("hello", evr("EQ")),
			named("hello(x86-64)", evr("EQ")), {Name: "hello-api", Flags: "EQ", Epoch: "0", Ver: "2"},
		},
		// Without rpmlib() and the config() require its provide satisfies;
		// the interpreter once per kind of scriptlet createrepo_c tells
		// apart.
		Requires: []rpmmd.Dep{
			{Name: "(foo or bar > 2)"}, {Name: "/bin/sh"}, {Name: "/bin/sh", Pre: true}, {Name: "/bin/sh"},
			{Name: "bash", Flags: "GE", Epoch: "0", Ver: "4.0"}, {Name: "coreutils"},
			{Name: "glibc", Flags: "GE", Epoch: "0", Ver: "2.17"},
		},
		Conflicts:  []rpmmd.Dep{{Name: "goodbye", Flags: "LT", Epoch: "0", Ver: "2.0"}, {Name: "oldbreak"}},
		Obsoletes:  []rpmmd.Dep{{Name: "oldhello", Flags: "LE", Epoch: "0", Ver: "1.0"}},
		Recommends: []rpmmd.Dep{{Name: "cowsay"}},
		Suggests:   []rpmmd.Dep{{Name: "fortune", Flags: "EQ", Epoch: "0", Ver: "1.0"}},
		Files: []rpmmd.File{
			{Path: "/etc/hello/hello.conf"}, {Path: "/etc/hello/other.conf"}, {Path: "/usr/bin/hello"},
			{Path: "/usr/bin/hi"}, {Path: "/usr/share/hello/empty"}, {Path: "/var/lib/hello", Type: "dir"},
			{Path: "/var/log/hello.log", Type: "ghost"},
		},
	}
	if info.Source {
		t.Error("a binary package read as a source package")
	}
	if !reflect.DeepEqual(info.Meta, want) {
		t.Errorf("Read:\n got %+v\nwant %+v", info.Meta, want)
	}
}

// TestReadMatchesRPM compares what Read finds in rpmbuild's packages, and
// in ours, with what rpm finds.
func TestReadMatchesRPM(t *testing.T) {
	needRPM(t)
	rpmbuild := testtool.Path(t, "rpmbuild")
	dir := t.TempDir()
	top := filepath.Join(dir, "top")
	specFile := writeSource(t, dir, "tool.spec", `Name: tool
Version: 3.1~beta
Release: 2.fc40
Epoch: 7
Summary: A tool
License: MIT
Requires: bash >= 4.0, (grep or sed), coreutils
Requires(post): /bin/sh
Provides: tool-api = 3
Conflicts: tool-old < 2
Obsoletes: tool-ancient
Recommends: less
Enhances: shell

%description
Tools.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/tool/sub
echo x > %{buildroot}/usr/bin/tool
echo y > %{buildroot}/usr/share/tool/sub/data
ln -s tool %{buildroot}/usr/bin/tl

%post
true

%files
/usr/bin/tool
/usr/bin/tl
/usr/share/tool
%ghost /var/log/tool.log
`)
	cmd := exec.Command(rpmbuild, "--quiet", "--define", "_topdir "+top, "-ba", specFile)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	rpms, err := filepath.Glob(filepath.Join(top, "*RPMS", "*", "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	srpms, err := filepath.Glob(filepath.Join(top, "SRPMS", "*.rpm"))
	if err != nil || len(rpms) != 1 || len(srpms) != 1 {
		t.Fatalf("rpmbuild made %v %v", rpms, srpms)
	}
	rpms = append(rpms, srpms[0], writePackage(t, samplePackage(t), WriteOptions{}))

	for _, name := range rpms {
		t.Run(filepath.Base(name), func(t *testing.T) {
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			info, err := Read(f, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			m := info.Meta
			query := func(format string) string { return run(t, "rpm", "-qp", "--qf", format, name) }
			epoch := m.Epoch
			if epoch == "" {
				epoch = "(none)"
			}
			arch := m.Arch
			if info.Source {
				arch = query("%{ARCH}")
			}
			got := strings.Join([]string{m.Name, epoch, m.Version, m.Release, arch}, " ")
			if want := query("%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}"); got != want {
				t.Errorf("NEVRA %q, rpm says %q", got, want)
			}
			if want := query("%|SOURCERPM?{0}:{1}|"); info.Source != (want == "1") {
				t.Errorf("Source is %v", info.Source)
			}
			if got, want := fmt.Sprint(m.InstalledSize), query("%{LONGSIZE}"); got != want {
				t.Errorf("installed size %s, rpm says %s", got, want)
			}

			var files []string
			for _, f := range m.Files {
				files = append(files, f.Path+" "+f.Type)
			}
			var want []string
			for _, line := range strings.Split(query("[%{FILENAMES} %{FILEMODES:perms} %{FILEFLAGS}\n]"), "\n") {
				path, rest, ok := strings.Cut(line, " ")
				if !ok {
					continue
				}
				perms, flags, _ := strings.Cut(rest, " ")
				fl, _ := strconv.Atoi(flags)
				switch {
				case strings.HasPrefix(perms, "d"):
					path += " dir"
				case fl&fileGhost != 0:
					path += " ghost"
				default:
					path += " "
				}
				want = append(want, path)
			}
			if !reflect.DeepEqual(files, want) {
				t.Errorf("files:\n%q\nrpm says\n%q", files, want)
			}

			provides := depLines(query("[%{PROVIDENAME}|%{PROVIDEFLAGS}|%{PROVIDEVERSION}\n]"))
			if got := depStrings(m.Provides); !reflect.DeepEqual(got, provides) {
				t.Errorf("provides:\n%q\nrpm says\n%q", got, provides)
			}
			// Read leaves out requires as createrepo_c does; the rest are
			// rpm's, in rpm's order.
			owned := make(map[string]bool)
			for _, f := range m.Files {
				owned[f.Path] = true
			}
			var requires []string
			last := make(map[string]string)
			for _, r := range depLines(query("[%{REQUIRENAME}|%{REQUIREFLAGS}|%{REQUIREVERSION}\n]")) {
				name, _, _ := strings.Cut(r, " ")
				if strings.HasPrefix(name, "rpmlib(") || slices.Contains(provides, strings.TrimSuffix(r, " pre")) ||
					owned[name] && rpmmd.IsPrimaryFile(name) || last[name] == r {
					continue
				}
				last[name] = r
				requires = append(requires, r)
			}
			if got := depStrings(m.Requires); !reflect.DeepEqual(got, requires) {
				t.Errorf("requires:\n%q\nrpm says, less what createrepo_c leaves out,\n%q", got, requires)
			}
		})
	}
}

// depLines turns rpm's "name|flags|version" lines into depStrings' form.
// Its pre is createrepo_c's, but for provides too.
func depLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		flags, _ := strconv.ParseUint(f[1], 10, 32)
		d := f[0] + " " + senseName(flags)
		if f[2] != "" {
			epoch, v, ok := strings.Cut(f[2], ":")
			if !ok {
				epoch, v = "0", f[2]
			}
			d += " " + epoch + ":" + v
		}
		if flags&(sensePrereq|senseScriptPre|senseScriptPost) != 0 {
			d += " pre"
		}
		out = append(out, d)
	}
	return out
}

func depStrings(ds []rpmmd.Dep) []string {
	var out []string
	for _, d := range ds {
		s := d.Name + " " + d.Flags
		if d.Epoch != "" {
			s += " " + d.Epoch + ":" + d.Ver
			if d.Rel != "" {
				s += "-" + d.Rel
			}
		}
		if d.Pre {
			s += " pre"
		}
		out = append(out, s)
	}
	return out
}

// errReader fails after its bytes.
type errReader struct {
	b   []byte
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, r.err
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestReadRejects feeds Read broken packages: each must fail with the
// error the table says, and none may panic.
func TestReadRejects(t *testing.T) {
	hdr, err := minimalHeader().Marshal(tagHeaderImmutable)
	if err != nil {
		t.Fatal(err)
	}
	good := minimalPackage(t, hdr)
	if _, err := Read(bytes.NewReader(good), Limits{}); err != nil {
		t.Fatalf("the package the cases break: %v", err)
	}
	sigLen := len(signatureFor(hdr, 0, 0, true, nil))
	hdrStart := len(good) - len(hdr)
	edit := func(at int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[at:], b)
		return c
	}
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	// plain is a package whose main header has no region and the given
	// index and data, and a right digest.
	plain := func(index []rawIndex, data string) []byte {
		return minimalPackage(t, headerBlob(index, []byte(data)))
	}
	name := rawIndex{tagName, typeString, 0, 1}
	withHeader := func(edit func(h *header)) []byte {
		h := minimalHeader()
		edit(h)
		b, err := h.Marshal(tagHeaderImmutable)
		if err != nil {
			t.Fatal(err)
		}
		return minimalPackage(t, b)
	}
	wrongRegion, _ := minimalHeader().Marshal(tagHeaderImmutable)
	binary.BigEndian.PutUint32(wrongRegion[len(wrongRegion)-8:], 0xffffffd0) // the trailer counts 3 entries, not 6

	for _, tc := range []struct {
		name string
		pkg  []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrInvalid},
		{"truncated lead", good[:50], Limits{}, ErrInvalid},
		{"wrong lead magic", edit(0, 0xde, 0xad), Limits{}, ErrInvalid},
		{"lead version 2", edit(4, 2), Limits{}, ErrInvalid},
		{"lead signature type", edit(78, 0, 1), Limits{}, ErrInvalid},
		{"truncated signature header", good[:96+20], Limits{}, ErrInvalid},
		{"wrong header magic", edit(96, 0x8e, 0xad, 0xe8, 0x02), Limits{}, ErrInvalid},
		{"header count huge", edit(96+8, be32(0xffffffff)...), Limits{}, ErrTooLarge},
		{"header data huge", edit(96+12, be32(0x7fffffff)...), Limits{}, ErrTooLarge},
		{"headers beyond MaxHeader", good, Limits{MaxHeader: int64(sigLen + 40)}, ErrTooLarge},
		{"entries beyond MaxEntries", good, Limits{MaxEntries: 2}, ErrTooLarge},
		{"truncated in the padding", good[:96+sigLen+1], Limits{}, ErrInvalid},
		{"truncated header", good[:len(good)-5], Limits{}, ErrInvalid},
		{"truncated header index", good[:hdrStart+20], Limits{}, ErrInvalid},
		{"no entries", plain(nil, ""), Limits{}, ErrInvalid},
		{"offset beyond data", plain([]rawIndex{{tagName, typeString, 100, 1}}, "x\x00"), Limits{}, ErrInvalid},
		{"unterminated string", plain([]rawIndex{name}, "xyz"), Limits{}, ErrInvalid},
		{"string of two", plain([]rawIndex{{tagName, typeString, 0, 2}}, "x\x00y\x00"), Limits{}, ErrInvalid},
		{"string array past data", plain([]rawIndex{{tagBaseNames, typeStringArray, 0, 3}}, "a\x00b\x00"), Limits{}, ErrInvalid},
		{"int32 array past data", plain([]rawIndex{{tagEpoch, typeInt32, 0, 100}}, "\x00\x00\x00\x01"), Limits{}, ErrInvalid},
		{"int32 misaligned", plain([]rawIndex{{tagEpoch, typeInt32, 1, 1}}, "\x00\x00\x00\x00\x01"), Limits{}, ErrInvalid},
		{"entries overlap", plain([]rawIndex{name, {tagVersion, typeString, 0, 1}}, "x\x00"), Limits{}, ErrInvalid},
		{"reserved tag", plain([]rawIndex{{50, typeString, 0, 1}}, "x\x00"), Limits{}, ErrInvalid},
		{"unknown type", plain([]rawIndex{{tagName, 10, 0, 1}}, "x\x00"), Limits{}, ErrInvalid},
		{"no elements", plain([]rawIndex{{tagName, typeString, 0, 0}}, "x\x00"), Limits{}, ErrInvalid},
		{"tag twice", plain([]rawIndex{name, {tagName, typeString, 2, 1}}, "x\x00y\x00"), Limits{}, ErrInvalid},
		{"region trailer", minimalPackage(t, wrongRegion), Limits{}, ErrInvalid},
		{"digest mismatch", edit(len(good)-20, 'Z'), Limits{}, ErrInvalid},
		{"name of the wrong type", withHeader(func(h *header) { h.Int32(tagName, 1) }), Limits{}, ErrInvalid},
		{"no version", withHeader(func(h *header) { delete(h.entries, tagVersion) }), Limits{}, ErrInvalid},
		{"no arch", withHeader(func(h *header) { delete(h.entries, tagArch) }), Limits{}, ErrInvalid},
		{"file in a missing directory", withHeader(func(h *header) {
			h.StringArray(tagBaseNames, []string{"a"})
			h.StringArray(tagDirNames, []string{"/"})
			h.Int32(tagDirIndexes, 1)
			h.Int16(tagFileModes, 0o100644)
			h.Int32(tagFileFlags, 0)
		}), Limits{}, ErrInvalid},
		{"files without modes", withHeader(func(h *header) {
			h.StringArray(tagBaseNames, []string{"a"})
			h.StringArray(tagDirNames, []string{"/"})
			h.Int32(tagDirIndexes, 0)
			h.Int32(tagFileFlags, 0)
		}), Limits{}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.pkg), tc.lim)
			t.Log(err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Read: %v, want %v", err, tc.want)
			}
			if tc.want == ErrTooLarge && errors.Is(err, ErrInvalid) {
				t.Errorf("%v is also ErrInvalid", err)
			}
		})
	}

	// A failing reader's error is not the package's fault.
	broken := errors.New("connection reset")
	_, err = Read(&errReader{b: good[:200], err: broken}, Limits{})
	if !errors.Is(err, broken) || errors.Is(err, ErrInvalid) {
		t.Errorf("Read from a failing reader: %v", err)
	}
}

// withoutDigests returns pkg with a signature header that has no digest
// of the main header, so that a fuzzer's changes to the main header are
// parsed rather than refused at the digest check.
func withoutDigests(t testing.TB, pkg []byte) []byte {
	t.Helper()
	info, err := Read(bytes.NewReader(pkg), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	hdr, payload := pkg[info.Meta.HeaderStart:info.Meta.HeaderEnd], pkg[info.Meta.HeaderEnd:]
	sig := signatureFor(hdr, int64(len(payload)), info.Meta.ArchiveSize, false, nil)
	return packageBytes(pkg[:leadSize], sig, hdr, payload)
}

// TestReadRPMBuild reads packages rpmbuild made, kept in testdata so that
// they are read without rpm installed.
func TestReadRPMBuild(t *testing.T) {
	for _, tc := range []struct {
		file   string
		source bool
		arch   string
		files  int
	}{
		{"rpmbuild-binary.rpm", false, "x86_64", 6},
		{"rpmbuild-source.rpm", true, "src", 1},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		info, err := Read(bytes.NewReader(data), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		m := info.Meta
		if got := fmt.Sprintf("%s %s:%s-%s.%s", m.Name, m.Epoch, m.Version, m.Release, m.Arch); got != "tool 7:3.1~beta-2.fc40."+tc.arch ||
			info.Source != tc.source || len(m.Files) != tc.files || m.BuildHost != "packhouse" {
			t.Errorf("%s: %s, source %v, %d files, built on %s", tc.file, got, info.Source, len(m.Files), m.BuildHost)
		}
		// The signature header shrinks; the rest stays.
		plain, err := Read(bytes.NewReader(withoutDigests(t, data)), Limits{})
		if err != nil {
			t.Fatalf("%s without digests: %v", tc.file, err)
		}
		shift := m.HeaderStart - plain.Meta.HeaderStart
		plain.Meta.HeaderStart += shift
		plain.Meta.HeaderEnd += shift
		if !reflect.DeepEqual(plain.Meta, m) {
			t.Errorf("%s without digests reads as\n%+v\nnot\n%+v", tc.file, plain.Meta, m)
		}
	}
}

// FuzzRead feeds Read damaged packages: it must refuse them with
// ErrInvalid or ErrTooLarge, or return metadata the rpm-md writers can
// write, having read exactly the lead and the headers.
func FuzzRead(f *testing.F) {
	var seeds [][]byte
	for _, name := range []string{"rpmbuild-binary.rpm", "rpmbuild-source.rpm"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	written, err := os.ReadFile(writePackage(f, samplePackage(f), WriteOptions{Compression: "none"}))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, written)
	minimal, err := minimalHeader().Marshal(tagHeaderImmutable)
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, minimalPackage(f, minimal), minimalPackage(f, marshalPlain(minimalHeader())))
	for _, s := range seeds {
		f.Add(s)
		f.Add(withoutDigests(f, s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		info, err := Read(r, Limits{MaxHeader: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of neither kind: %v", err)
			}
			return
		}
		m := info.Meta
		if read := int64(len(data) - r.Len()); read != m.HeaderEnd || m.HeaderStart < leadSize+16 || m.HeaderStart >= m.HeaderEnd {
			t.Fatalf("read %d bytes; header from %d to %d", read, m.HeaderStart, m.HeaderEnd)
		}
		if m.Name == "" || m.Version == "" || m.Release == "" || info.Source && m.Arch != "src" {
			t.Fatalf("%s-%s-%s.%s, source %v", m.Name, m.Version, m.Release, m.Arch, info.Source)
		}
		rpmmd.AppendPrimary(nil, &m)
		rpmmd.AppendFilelists(nil, &m)
		rpmmd.AppendOther(nil, &m)
	})
}
