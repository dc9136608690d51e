package httpapi_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/pkgtest"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// pushAs pushes body with query parameters: a file name, or a plain
// file's name and version.
func (e *env) pushAs(project, branch string, body []byte, q url.Values, wantStatus int) []byte {
	e.t.Helper()
	sum := sha256.Sum256(body)
	q.Set("branch", branch)
	resp, out := e.do("PUT", "/api/v1/projects/"+project+"/push?"+q.Encode(), e.admin, bytes.NewReader(body),
		map[string]string{"X-Checksum-Sha256": hex.EncodeToString(sum[:])})
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("push %s/%s %v: %d %s, want %d", project, branch, q, resp.StatusCode, out, wantStatus)
	}
	return out
}

func TestPlainFiles(t *testing.T) {
	e := newEnv(t, service.Config{})
	e.json("POST", "/api/v1/projects", map[string]any{"name": "app", "default_branch": "main", "repositories": []string{"product"}}, 201)
	e.json("POST", "/api/v1/projects", map[string]any{"name": "tools", "default_branch": "main", "repositories": []string{"product"}}, 201)
	plain := func(project, branch, name, version, arch, filename, body string) {
		q := url.Values{"name": {name}, "version": {version}, "filename": {filename}}
		if arch != "" {
			q.Set("arch", arch)
		}
		e.pushAs(project, branch, []byte(body), q, 201)
	}
	plain("app", "main", "installer", "1.9.0", "", "setup-1.9.0.msi", "installer 1.9")
	plain("app", "main", "installer", "1.10.0", "", "setup-1.10.0.msi", "installer 1.10")
	plain("app", "main", "installer", "2.0.0~rc1", "", "setup-2.0.0-rc1.msi", "installer 2.0rc1")
	plain("tools", "main", "cli", "0.3", "amd64", "cli-linux-amd64.tar.gz", "cli amd64")
	plain("tools", "main", "cli", "0.3", "arm64", "cli-linux-arm64.tar.gz", "cli arm64")
	plain("app", "feature/x", "installer", "1.0.0", "", "setup-old.msi", "installer from the branch")

	// Newest by version order: 1.10 after 1.9, a release candidate before
	// its release.
	if got := string(e.get("/files/product/main/-/installer/latest", 200)); got != "installer 2.0rc1" {
		t.Fatalf("latest = %q", got)
	}
	plain("app", "main", "installer", "2.0.0", "", "setup-2.0.0.msi", "installer 2.0")
	if got := string(e.get("/files/product/main/-/installer/latest", 200)); got != "installer 2.0" {
		t.Fatalf("latest = %q", got)
	}
	resp, _ := e.do("GET", "/files/product/main/-/installer/latest", "", nil, nil)
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "setup-2.0.0.msi") || resp.Header.Get("X-Packhouse-Version") != "2.0.0" {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	// Two architectures of one version: the client must choose.
	e.get("/files/product/main/-/cli/latest", 409)
	if got := string(e.get("/files/product/main/-/cli/latest?arch=arm64", 200)); got != "cli arm64" {
		t.Fatalf("latest arm64 = %q", got)
	}
	if got := string(e.get("/files/product/main/-/installer/1.9.0/setup-1.9.0.msi", 200)); got != "installer 1.9" {
		t.Fatalf("stable URL = %q", got)
	}
	e.get("/files/product/main/-/installer/1.9.0/other.msi", 404)
	e.get("/files/product/main/-/nothing/latest", 404)

	// The branch's own file hides the default branch's of the same name,
	// even an older version; other projects show their default branch.
	if got := string(e.get("/files/product/feature/x/-/installer/latest", 200)); got != "installer from the branch" {
		t.Fatalf("branch latest = %q", got)
	}
	var list struct {
		Files []struct {
			Name, Version, Arch, Filename, SHA256, URL string
			Latest                                     bool
		}
	}
	if err := json.Unmarshal(e.get("/files/product/feature/x/index.json", 200), &list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range list.Files {
		got = append(got, f.Name+"="+f.Version+"/"+f.Arch)
	}
	if want := []string{"cli=0.3/amd64", "cli=0.3/arm64", "installer=1.0.0/any"}; !slices.Equal(got, want) {
		t.Fatalf("listing = %v, want %v", got, want)
	}
	if u := list.Files[2].URL; u != "/files/product/feature/x/-/installer/1.0.0/setup-old.msi" {
		t.Fatalf("URL = %q", u)
	}
	html := string(e.get("/files/product/main/", 200))
	for _, want := range []string{"setup-1.10.0.msi", "setup-2.0.0.msi", "-/installer/latest", "SHA256SUMS"} {
		if !strings.Contains(html, want) {
			t.Fatalf("HTML listing lacks %q:\n%s", want, html)
		}
	}

	// SHA256SUMS is signed.
	sums := e.get("/files/product/main/SHA256SUMS", 200)
	sig := e.get("/files/product/main/SHA256SUMS.asc", 200)
	pub, _ := e.key.ArmoredPublic()
	ring, _ := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if _, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(sums), bytes.NewReader(sig), nil); err != nil {
		t.Fatalf("SHA256SUMS.asc: %v", err)
	}
	h := sha256.Sum256([]byte("installer 1.9"))
	if !strings.Contains(string(sums), hex.EncodeToString(h[:])+"  installer/1.9.0/setup-1.9.0.msi\n") {
		t.Fatalf("SHA256SUMS:\n%s", sums)
	}

	// Bad names and versions are refused.
	for _, q := range []url.Values{
		{"name": {"../x"}, "version": {"1"}},
		{"name": {"x"}, "version": {"1/../2"}},
		{"name": {"x"}},
		{"name": {"x"}, "version": {"1"}, "arch": {"A B"}},
	} {
		e.pushAs("app", "main", []byte("x"), q, 400)
	}
	// A body that is no package, pushed without a name, is refused.
	e.pushAs("app", "main", []byte("just some bytes"), url.Values{}, 400)
}

func TestAPKRepository(t *testing.T) {
	e := newEnvKey(t, service.Config{}, sign.RSA3072)
	e.json("POST", "/api/v1/projects", map[string]any{"name": "server", "default_branch": "main", "repositories": []string{"product"}}, 201)
	e.json("POST", "/api/v1/projects", map[string]any{"name": "deps", "default_branch": "main", "repositories": []string{"product"}}, 201)
	read := func(s pkgtest.Spec) []byte {
		b, err := os.ReadFile(pkgtest.Build(t, s, "apk", build.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lib := read(pkgtest.Spec{Name: "libgreet", Version: "0.1.0", Arch: "all"})
	app := read(pkgtest.Spec{Name: "greeter", Version: "2.0.0", Arch: "amd64", Depends: []string{"libgreet"}})
	e.pushAs("deps", "main", lib, url.Values{"filename": {"libgreet-0.1.0-r1.apk"}}, 201)
	e.pushAs("server", "feature/login", app, url.Values{"filename": {"greeter-2.0.0-r1.apk"}}, 201)

	keyName := e.svc.APKKeyName()
	block, _ := pem.Decode(e.get("/apk/keys/"+keyName+".rsa.pub", 200))
	pubAny, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := pubAny.(*rsa.PublicKey)

	index := e.get("/apk/product/feature/login/x86_64/APKINDEX.tar.gz", 200)
	text := verifyAPKIndex(t, index, keyName, pub)
	for _, want := range []string{"P:greeter\nV:2.0.0-r1\nA:x86_64\n", "P:libgreet\nV:0.1.0-r1\nA:noarch\n", "D:libgreet\n"} {
		if !strings.Contains(text, want) {
			t.Fatalf("APKINDEX lacks %q:\n%s", want, text)
		}
	}
	// Each entry's checksum identifies the package file apk downloads.
	got := e.get("/apk/product/feature/login/x86_64/greeter-2.0.0-r1.apk", 200)
	if !bytes.Equal(got, app) {
		t.Fatal("downloaded greeter differs from the pushed one")
	}
	e.get("/apk/product/feature/login/x86_64/libgreet-0.1.0-r1.apk", 200)
	e.get("/apk/product/feature/login/aarch64/greeter-2.0.0-r1.apk", 404)
	// The default branch does not see the feature's package; aarch64 has
	// an index of the noarch packages.
	if text := verifyAPKIndex(t, e.get("/apk/product/main/aarch64/APKINDEX.tar.gz", 200), keyName, pub); strings.Contains(text, "greeter") || !strings.Contains(text, "libgreet") {
		t.Fatalf("main's aarch64 APKINDEX:\n%s", text)
	}
	e.get("/apk/keys/other.rsa.pub", 404)
	e.get("/apk/product/nobranch/x86_64/APKINDEX.tar.gz", 404)
}

// verifyAPKIndex checks a signed APKINDEX.tar.gz as apk does: a signature
// segment naming the key, whose RSA signature covers the SHA-256 of the
// rest of the file, then returns the APKINDEX text.
func verifyAPKIndex(t *testing.T, index []byte, keyName string, pub *rsa.PublicKey) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(index))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != ".SIGN.RSA256."+keyName+".rsa.pub" {
		t.Fatalf("signature entry %q", h.Name)
	}
	sig, _ := io.ReadAll(tr)
	io.Copy(io.Discard, zr)
	// The first member's length: find where the second gzip member
	// starts by reading the first to its end from a counting reader.
	cr := &countingByteReader{r: bytes.NewReader(index)}
	z1, _ := gzip.NewReader(cr)
	z1.Multistream(false)
	io.Copy(io.Discard, z1)
	rest := index[cr.n:]
	sum := sha256.Sum256(rest)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("APKINDEX signature: %v", err)
	}
	z2, err := gzip.NewReader(bytes.NewReader(rest))
	if err != nil {
		t.Fatal(err)
	}
	tr = tar.NewReader(z2)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no APKINDEX entry: %v", err)
		}
		if h.Name == "APKINDEX" {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
}

type countingByteReader struct {
	r *bytes.Reader
	n int
}

func (c *countingByteReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}
