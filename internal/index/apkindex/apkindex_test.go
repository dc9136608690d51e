package apkindex

import (
	"archive/tar"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"github.com/packhouse/packhouse/internal/testtool"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func q1(s string) string {
	sum := sha1.Sum([]byte(s))
	return "Q1" + base64.StdEncoding.EncodeToString(sum[:])
}

func fixtures() []*Package {
	return []*Package{
		{
			Checksum: q1("hello control"), Name: "hello", Version: "1.2.3-r1", Arch: "x86_64",
			Description: "Says hello & <bye>", URL: "https://example.com/?a=1&b=2",
			License: "MIT AND BSD-3-Clause", Origin: "hello", Maintainer: "Jane <jane@example.com>",
			Commit: "0123456789abcdef0123456789abcdef01234567",
			Size:   12345, InstalledSize: 65536, BuildTime: 1700000000,
			Depends:   []string{"so:libc.musl-x86_64.so.1", "libgreet>=0.1", "!hello-old"},
			Provides:  []string{"cmd:hello=1.2.3-r1", "hello-api=2"},
			InstallIf: []string{"hello-base", "docs"},
		},
		{
			// Nothing optional: no architecture, origin, maintainer, build
			// time, commit or dependencies.
			Checksum: q1("libgreet control"), Name: "libgreet", Version: "0.1-r0", Size: 100,
		},
		{
			// A description that tries to add a field of its own.
			Checksum: q1("evil control"), Name: "evil", Version: "1-r0", Arch: "noarch",
			Description: "innocent\nD:backdoor\r\n", License: "MIT", Size: 1,
		},
	}
}

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
})

func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	text, err := WriteIndex(&buf, fixtures(), "packhouse server/feature-x")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "APKINDEX"), text)

	members := splitMembers(t, buf.Bytes())
	if len(members) != 1 {
		t.Fatalf("the unsigned index is %d gzip members, want 1", len(members))
	}
	golden(t, filepath.Join("testdata", "APKINDEX.tar.txt"), []byte(listing(t, gunzip(t, members[0]))))
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

// TestBuild reads a signed index back the way apk does and checks every
// rule of the format on the way.
func TestBuild(t *testing.T) {
	key := testKey()
	pkgs := fixtures()
	signed, err := Build(pkgs, "packhouse server/feature-x", key, "packhouse-test")
	if err != nil {
		t.Fatal(err)
	}

	members := splitMembers(t, signed)
	if len(members) != 2 {
		t.Fatalf("signed index is %d gzip members, want 2", len(members))
	}
	sigTar, indexTar := gunzip(t, members[0]), gunzip(t, members[1])

	// The signature member must not end the tar stream: whole blocks, and
	// none of them empty, or apk stops reading before the index.
	if len(sigTar)%512 != 0 {
		t.Fatalf("signature tar is %d bytes, not whole blocks", len(sigTar))
	}
	for off := 0; off < len(sigTar); off += 512 {
		if bytes.Equal(sigTar[off:off+512], make([]byte, 512)) {
			t.Fatalf("signature tar has an empty block at %d: an end of archive", off)
		}
	}
	// The index member ends with the end-of-archive blocks and nothing else.
	if len(indexTar) < 1024 || !bytes.Equal(indexTar[len(indexTar)-1024:], make([]byte, 1024)) {
		t.Fatal("index tar does not end with two empty blocks")
	}

	entries := readTar(t, append(slices.Clone(sigTar), indexTar...))
	var names []string
	for _, e := range entries {
		names = append(names, e.hdr.Name)
	}
	if want := []string{".SIGN.RSA256.packhouse-test.rsa.pub", "DESCRIPTION", "APKINDEX"}; !slices.Equal(names, want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	if string(entries[1].data) != "packhouse server/feature-x" {
		t.Fatalf("DESCRIPTION = %q", entries[1].data)
	}

	// The signature is over the compressed bytes after the signature's own
	// member, as apk hashes them.
	digest := sha256.Sum256(members[1])
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], entries[0].data); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}

	var unsigned bytes.Buffer
	text, err := WriteIndex(&unsigned, pkgs, "packhouse server/feature-x")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(members[1], unsigned.Bytes()) {
		t.Fatal("the signed index does not end with WriteIndex's archive")
	}
	if !bytes.Equal(entries[2].data, text) {
		t.Fatal("APKINDEX differs from the text WriteIndex returned")
	}

	got := parseIndex(t, string(text))
	want := slices.Clone(pkgs)
	slices.SortFunc(want, func(a, b *Package) int { return strings.Compare(a.Name, b.Name) })
	if len(got) != len(want) {
		t.Fatalf("read back %d packages, want %d", len(got), len(want))
	}
	for i := range want {
		w := *want[i]
		w.Description = strings.NewReplacer("\n", " ", "\r", " ").Replace(w.Description)
		if d := diffPackage(got[i], &w); d != "" {
			t.Errorf("package %s read back differently:\n%s", w.Name, d)
		}
	}
}

func TestSignWith(t *testing.T) {
	key := testKey()
	var index bytes.Buffer
	if _, err := WriteIndex(&index, fixtures(), ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash crypto.Hash
		name string
	}{
		{crypto.SHA1, ".SIGN.RSA.k.rsa.pub"},
		{crypto.SHA256, ".SIGN.RSA256.k.rsa.pub"},
	} {
		t.Run(tc.hash.String(), func(t *testing.T) {
			signed, err := SignWith(index.Bytes(), key, "k", tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			members := splitMembers(t, signed)
			entries := readTar(t, gunzip(t, members[0]))
			if len(entries) != 1 || entries[0].hdr.Name != tc.name {
				t.Fatalf("signature entries %v, want one %s", entries, tc.name)
			}
			h := tc.hash.New()
			h.Write(index.Bytes())
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, tc.hash, h.Sum(nil), entries[0].data); err != nil {
				t.Fatal(err)
			}
			again, err := SignWith(index.Bytes(), key, "k", tc.hash)
			if err != nil || !bytes.Equal(again, signed) {
				t.Fatalf("signing twice gave other bytes (%v)", err)
			}
		})
	}
}

// TestSignOpenSSL verifies our signatures with openssl dgst -verify, the
// inverse of the openssl dgst -sign that abuild-sign runs.
func TestSignOpenSSL(t *testing.T) {
	testtool.Need(t, "openssl")
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal(err)
	}
	key := testKey()
	dir := t.TempDir()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// The form apk reads from /etc/apk/keys (PEM_read_bio_PUBKEY).
	pub := filepath.Join(dir, "packhouse-test.rsa.pub")
	writeFile(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	var index bytes.Buffer
	if _, err := WriteIndex(&index, fixtures(), "d"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash crypto.Hash
		flag string
	}{{crypto.SHA256, "-sha256"}, {crypto.SHA1, "-sha1"}} {
		signed, err := SignWith(index.Bytes(), key, "packhouse-test", tc.hash)
		if err != nil {
			t.Fatal(err)
		}
		members := splitMembers(t, signed)
		sig := readTar(t, gunzip(t, members[0]))[0].data
		writeFile(t, filepath.Join(dir, "sig"), sig)
		writeFile(t, filepath.Join(dir, "APKINDEX.tar.gz"), members[1])
		cmd := exec.CommandContext(t.Context(), openssl, "dgst", tc.flag, "-verify", pub,
			"-signature", filepath.Join(dir, "sig"), filepath.Join(dir, "APKINDEX.tar.gz"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Verified OK") {
			t.Fatalf("openssl dgst %s -verify: %v\n%s", tc.flag, err, out)
		}
	}
}

func TestSignErrors(t *testing.T) {
	key := testKey()
	var index bytes.Buffer
	if _, err := WriteIndex(&index, nil, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		index   []byte
		key     crypto.Signer
		keyName string
		hash    crypto.Hash
	}{
		{"no key", index.Bytes(), nil, "k", crypto.SHA256},
		{"not an RSA key", index.Bytes(), ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), "k", crypto.SHA256},
		{"empty key name", index.Bytes(), key, "", crypto.SHA256},
		{"key name with a directory", index.Bytes(), key, "../k", crypto.SHA256},
		{"not gzip", []byte("APKINDEX"), key, "k", crypto.SHA256},
		{"unsupported digest", index.Bytes(), key, "k", crypto.MD5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SignWith(tc.index, tc.key, tc.keyName, tc.hash); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestWriteIndexInvalid(t *testing.T) {
	ok := func() *Package { return &Package{Checksum: q1("x"), Name: "a", Version: "1-r0"} }
	for _, tc := range []struct {
		name   string
		change func(p *Package)
	}{
		{"no checksum", func(p *Package) { p.Checksum = "" }},
		{"MD5 checksum", func(p *Package) { p.Checksum = "d41d8cd98f00b204e9800998ecf8427e" }},
		{"short checksum", func(p *Package) { p.Checksum = "Q1AAAA" }},
		{"checksum not base64", func(p *Package) { p.Checksum = "Q1" + strings.Repeat("!", 28) }},
		{"empty name", func(p *Package) { p.Name = "" }},
		{"newline in name", func(p *Package) { p.Name = "a\nP:b" }},
		{"empty version", func(p *Package) { p.Version = "" }},
		{"space in version", func(p *Package) { p.Version = "1 r0" }},
		{"space in arch", func(p *Package) { p.Arch = "x86 64" }},
		{"empty dependency", func(p *Package) { p.Depends = []string{""} }},
		{"space in a provide", func(p *Package) { p.Provides = []string{"a b"} }},
		{"newline in install_if", func(p *Package) { p.InstallIf = []string{"a\nb"} }},
		{"negative size", func(p *Package) { p.Size = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok()
			tc.change(p)
			if _, err := WriteIndex(io.Discard, []*Package{p}, ""); !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("WriteIndex = %v, want ErrInvalidPackage", err)
			}
		})
	}
	if _, err := WriteIndex(io.Discard, []*Package{ok()}, ""); err != nil {
		t.Fatalf("the valid package: %v", err)
	}
}

func TestWriteIndexReproducible(t *testing.T) {
	pkgs := fixtures()
	before := slices.Clone(pkgs)
	var a, b bytes.Buffer
	if _, err := WriteIndex(&a, pkgs, "d"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pkgs, before) {
		t.Fatal("WriteIndex reordered the caller's slice")
	}
	slices.Reverse(pkgs)
	if _, err := WriteIndex(&b, pkgs, "d"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the index depends on the order of the packages")
	}
}

// splitMembers cuts a gzip file into its members, as apk's multi-part
// gunzip sees them.
func splitMembers(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	r := bytes.NewReader(data)
	for r.Len() > 0 {
		start := len(data) - r.Len()
		// A bytes.Reader is an io.ByteReader, so the gzip reader reads no
		// further than the end of the member.
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("member at %d: %v", start, err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("member at %d: %v", start, err)
		}
		out = append(out, data[start:len(data)-r.Len()])
	}
	return out
}

func gunzip(t *testing.T, member []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(member))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t *testing.T, data []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr, body})
	}
}

// listing renders a tar for the golden files: each header as apk reads
// it (apk_tar_parse in archive.c), then the content.
func listing(t *testing.T, tarData []byte) string {
	var b strings.Builder
	for off := 0; off+512 <= len(tarData); {
		block := tarData[off : off+512]
		off += 512
		if block[0] == 0 {
			b.WriteString("== empty block\n")
			continue
		}
		field := func(from, to int) string { return strings.TrimRight(string(block[from:to]), "\x00") }
		size, err := strconv.ParseInt(strings.TrimSpace(field(124, 136)), 8, 64)
		if err != nil {
			t.Fatalf("size field %q: %v", field(124, 136), err)
		}
		fmt.Fprintf(&b, "== %s type=%c mode=%s uid=%s gid=%s mtime=%s magic=%q owner=%s/%s size=%d\n",
			field(0, 100), block[156], field(100, 108), field(108, 116), field(116, 124), field(136, 148),
			block[257:265], field(265, 297), field(297, 329), size)
		content := tarData[off : off+int(size)]
		b.Write(content)
		if !bytes.HasSuffix(content, []byte("\n")) {
			b.WriteString("\n")
		}
		off += int(size+511) / 512 * 512
	}
	return b.String()
}

// parseIndex reads APKINDEX text as apk_pkg_parse_index_entry does.
func parseIndex(t *testing.T, text string) []*Package {
	t.Helper()
	if !strings.HasSuffix(text, "\n\n") {
		t.Fatalf("index does not end with a blank line: %q", text)
	}
	var out []*Package
	for _, record := range strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n") {
		p := &Package{}
		for _, l := range strings.Split(record, "\n") {
			if len(l) < 2 || l[1] != ':' {
				t.Fatalf("line %q is not a field", l)
			}
			v := l[2:]
			num := func() int64 {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("field %q: %v", l, err)
				}
				return n
			}
			switch l[0] {
			case 'C':
				p.Checksum = v
			case 'P':
				p.Name = v
			case 'V':
				p.Version = v
			case 'A':
				p.Arch = v
			case 'S':
				p.Size = num()
			case 'I':
				p.InstalledSize = num()
			case 'T':
				p.Description = v
			case 'U':
				p.URL = v
			case 'L':
				p.License = v
			case 'o':
				p.Origin = v
			case 'm':
				p.Maintainer = v
			case 't':
				p.BuildTime = num()
			case 'c':
				p.Commit = v
			case 'D':
				p.Depends = strings.Fields(v)
			case 'p':
				p.Provides = strings.Fields(v)
			case 'i':
				p.InstallIf = strings.Fields(v)
			default:
				t.Fatalf("unknown field %q", l)
			}
		}
		out = append(out, p)
	}
	return out
}

func diffPackage(got, want *Package) string {
	g, w := fmt.Sprintf("%#v", *got), fmt.Sprintf("%#v", *want)
	if g == w {
		return ""
	}
	return " got " + g + "\nwant " + w
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzAppendEntry checks that no description, URL, license, origin,
// maintainer or commit can add a line, and so a field, to a record.
func FuzzAppendEntry(f *testing.F) {
	f.Add("innocent\nD:backdoor", "u", "l")
	f.Add("\r\n\n", "\nP:other", "")
	f.Fuzz(func(t *testing.T, desc, url, license string) {
		p := &Package{Checksum: q1("x"), Name: "a", Version: "1-r0", Description: desc, URL: url,
			License: license, Origin: desc, Maintainer: url, Commit: license}
		record := string(appendEntry(nil, p))
		lines := strings.Split(strings.TrimSuffix(record, "\n\n"), "\n")
		var fields []string
		for _, l := range lines {
			if len(l) < 2 || l[1] != ':' {
				t.Fatalf("line %q in %q", l, record)
			}
			fields = append(fields, l[:2])
		}
		want := []string{"C:", "P:", "V:", "S:", "I:", "T:", "U:", "L:"}
		for _, opt := range []struct{ field, value string }{{"o:", desc}, {"m:", url}, {"c:", license}} {
			if opt.value != "" {
				want = append(want, opt.field)
			}
		}
		if !slices.Equal(fields, want) {
			t.Fatalf("fields %q, want %q, in %q", fields, want, record)
		}
	})
}
