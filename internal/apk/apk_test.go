package apk

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile("testdata/packhouse-test.rsa")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testPublicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	data, err := os.ReadFile("testdata/packhouse-test.rsa.pub")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

func resolve(t testing.TB, arch string) *spec.Package {
	t.Helper()
	s, err := spec.Load("../../testdata/hello/nfpm.yaml", spec.Options{LookupEnv: func(k string) (string, bool) {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Resolve(spec.FormatAPK, arch)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t testing.TB, p *spec.Package, opts WriteOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	opts.TempDir = t.TempDir()
	if err := Write(context.Background(), &b, p, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden pins the exact bytes of a signed package. RSA PKCS#1 v1.5
// signatures are deterministic, so the whole file is.
func TestGolden(t *testing.T) {
	p := resolve(t, "")
	got := build(t, p, WriteOptions{Key: testKey(t), KeyName: "packhouse-test.rsa.pub"})
	name, err := FileName(p)
	if err != nil {
		t.Fatal(err)
	}
	if name != "hello-packhouse_1.2.3-r1_x86_64.apk" {
		t.Errorf("file name %s", name)
	}
	golden := "testdata/" + name
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("package differs from %s; if the change is intended, run go test -update and review the diff", golden)
	}
}

// stream is one gzip stream of the file, with its compressed bytes.
type stream struct {
	compressed []byte
	tar        []byte
}

// splitStreams splits an apk into its gzip streams using only the standard
// library, independently of Read.
func splitStreams(t *testing.T, data []byte) []stream {
	t.Helper()
	var out []stream
	br := bufio.NewReader(bytes.NewReader(data))
	offset := 0
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return out
		}
		cr := &countReader{r: br}
		zr, err := gzip.NewReader(cr)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stream{compressed: data[offset : offset+cr.n], tar: body})
		offset += cr.n
	}
}

type countReader struct {
	r *bufio.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) { n, err := c.r.Read(p); c.n += n; return n, err }
func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// TestDocumentedLayout checks the package against apk-v2(5) and the
// Alpine wiki's "Apk spec" page, clause by clause, with the standard
// library's gzip and tar rather than this package's reader.
func TestDocumentedLayout(t *testing.T) {
	data := build(t, resolve(t, ""), WriteOptions{Key: testKey(t), KeyName: "packhouse-test.rsa.pub"})
	streams := splitStreams(t, data)
	// "The .apk file contains three concatenated gzip streams, which
	// together form a single tar archive."
	if len(streams) != 3 {
		t.Fatalf("%d gzip streams, want 3", len(streams))
	}
	var whole []byte
	for _, s := range streams {
		whole = append(whole, s.tar...)
	}
	all := tarNames(t, whole)
	if len(all) < 3 {
		t.Fatalf("the concatenation does not read as one tar: %v", all)
	}
	// "The signatures are a sequence of files whose names start with
	// .SIGN., which must come before any other data in the tarball."
	sigNames := tarNames(t, streams[0].tar)
	if len(sigNames) != 1 || sigNames[0] != ".SIGN.RSA256.packhouse-test.rsa.pub" {
		t.Errorf("signature stream holds %v", sigNames)
	}
	// Tar segments of the first two streams lack the end-of-archive blocks.
	for i, s := range streams[:2] {
		if len(s.tar)%512 != 0 || bytes.Equal(s.tar[len(s.tar)-1024:], make([]byte, 1024)) {
			t.Errorf("stream %d is not a cut tar segment", i)
		}
	}
	// "if there is a datahash key in PKGINFO, its value is the sha256 hash
	// of the data part of the apk."
	ctl := tar.NewReader(bytes.NewReader(streams[1].tar))
	h, err := ctl.Next()
	if err != nil || h.Name != ".PKGINFO" {
		t.Fatalf("control stream starts with %v, %v", h, err)
	}
	info, _ := io.ReadAll(ctl)
	sum := sha256.Sum256(streams[2].compressed)
	if !strings.Contains(string(info), "\ndatahash = "+hex.EncodeToString(sum[:])+"\n") {
		t.Errorf(".PKGINFO lacks the data stream's hash %x:\n%s", sum, info)
	}
	// The signature is RSA PKCS#1 v1.5 over the control stream.
	sig := tar.NewReader(bytes.NewReader(streams[0].tar))
	sig.Next()
	sigBytes, _ := io.ReadAll(sig)
	digest := sha256.Sum256(streams[1].compressed)
	if err := rsa.VerifyPKCS1v15(testPublicKey(t), 5 /* crypto.SHA256 */, digest[:], sigBytes); err != nil {
		t.Errorf("signature does not verify over the control stream: %v", err)
	}
	// "use pax extended headers to include per-file checksums in a header
	// named APK-TOOLS.checksum.<hash>"
	dr := tar.NewReader(bytes.NewReader(streams[2].tar))
	files := 0
	for {
		h, err := dr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		files++
		body, _ := io.ReadAll(dr)
		s := sha1.Sum(body)
		if got := h.PAXRecords[ChecksumRecord]; got != hex.EncodeToString(s[:]) {
			t.Errorf("%s: checksum record %q, want %x", h.Name, got, s)
		}
		if strings.HasPrefix(h.Name, "/") || strings.HasPrefix(h.Name, "./") {
			t.Errorf("%s: apk paths are relative without ./", h.Name)
		}
	}
	if files == 0 {
		t.Error("no files in the data stream")
	}
}

func TestRoundTrip(t *testing.T) {
	p := resolve(t, "arm7")
	data := build(t, p, WriteOptions{Key: testKey(t), KeyName: "packhouse-test.rsa.pub"})
	got, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(testPublicKey(t)); err != nil {
		t.Error(err)
	}
	for k, want := range map[string]string{
		"pkgname": "hello-packhouse", "pkgver": "1.2.3-r1", "arch": "armv7", "license": "MIT",
		"pkgdesc": "greets the world, to test packhouse's deb writer", "builddate": "1700000000",
		"url": "https://packhouse.example/hello", "maintainer": "Packhouse Tests <tests@packhouse.example>",
	} {
		if v := got.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if !got.ControlCut || !got.SignatureCut {
		t.Error("control or signature segment has an end-of-archive trailer")
	}
	for _, s := range []string{".pre-install", ".post-install", ".pre-deinstall", ".post-deinstall"} {
		if len(got.Scripts[s]) == 0 {
			t.Errorf("script %s missing", s)
		}
	}
	want := map[string]bool{}
	for _, c := range p.Contents {
		name := strings.TrimPrefix(c.Destination, "/")
		if c.Type == spec.TypeDir {
			name += "/"
		}
		want[name] = true
	}
	for _, f := range got.Files {
		if !want[f.Name] {
			t.Errorf("unexpected %s", f.Name)
		}
		delete(want, f.Name)
		if f.Name == "usr/bin/hello-packhouse" && (f.Mode != 0o755 || f.Size != 31 || f.Checksum == "") {
			t.Errorf("%+v", f)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing %v", want)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if got.Verify(&other.PublicKey) == nil {
		t.Error("verified with the wrong key")
	}
}

func TestReadRejectsTampering(t *testing.T) {
	data := build(t, resolve(t, ""), WriteOptions{Key: testKey(t), KeyName: "k.rsa.pub"})
	// Flip a byte near the end: inside the data stream's deflate data.
	bad := append([]byte{}, data...)
	bad[len(bad)-20] ^= 0xff
	if _, err := Read(bytes.NewReader(bad), DefaultLimits); !errors.Is(err, ErrInvalid) {
		t.Errorf("tampered data: %v", err)
	}
	if _, err := Read(bytes.NewReader(data), Limits{MaxControl: 100, MaxData: 1 << 20, MaxEntries: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the control limit: %v", err)
	}
}

func TestUnsigned(t *testing.T) {
	data := build(t, resolve(t, ""), WriteOptions{})
	got, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Signatures) != 0 || got.Get("pkgname") != "hello-packhouse" {
		t.Errorf("%+v", got)
	}
}

func TestParsePrivateKeyRejectsEncrypted(t *testing.T) {
	enc := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
	if _, err := ParsePrivateKey([]byte(enc)); !errors.Is(err, ErrKey) {
		t.Errorf("got %v", err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add(build(f, resolve(f, ""), WriteOptions{Key: testKey(f), KeyName: "k.rsa.pub"}))
	f.Add(build(f, resolve(f, ""), WriteOptions{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data), Limits{MaxControl: 1 << 16, MaxData: 1 << 20, MaxEntries: 1000})
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrTooLarge", err)
			}
			return
		}
		_ = fmt.Sprint(p.Get("pkgname"))
	})
}

// TestReadBoundsTrailingData: bytes after the data tar's end, inside the
// gzip stream, count against the limit too.
func TestReadBoundsTrailingData(t *testing.T) {
	var b bytes.Buffer
	seg, err := segment([]segmentEntry{{".PKGINFO", 0o644, []byte("pkgname = x\n")}}, &spec.Package{})
	if err != nil {
		t.Fatal(err)
	}
	b.Write(seg)
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	tw.Close()
	gz.Write(make([]byte, 2<<20)) // zeros after the end-of-archive blocks
	gz.Close()
	if _, err := Read(bytes.NewReader(b.Bytes()), Limits{MaxControl: 1 << 16, MaxData: 1 << 20, MaxEntries: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v", err)
	}
}
