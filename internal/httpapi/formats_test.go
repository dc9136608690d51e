package httpapi_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/debtest"
	"github.com/packhouse/packhouse/internal/httpapi"
	"github.com/packhouse/packhouse/internal/meta"
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

// Bad rpm, Arch and apk packages get a clear error, and nothing is kept:
// the branch stays as it was, and a good package is still taken after.
func TestBadInputFormats(t *testing.T) {
	e := newEnv(t, service.Config{MaxPackageSize: 1 << 20})
	e.json("POST", "/api/v1/projects", map[string]any{"name": "app", "default_branch": "main", "repositories": []string{"product"}}, 201)
	read := func(format string) []byte {
		b, err := os.ReadFile(pkgtest.Build(t, pkgtest.Spec{Name: "good", Version: "1.0.0"}, format, build.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rpmGood, archGood, apkGood := read("rpm"), read("archlinux"), read("apk")
	flip := func(b []byte, at int) []byte {
		c := slices.Clone(b)
		c[at] ^= 0xff
		return c
	}
	// An rpm lead and a signature header that claims 2^31 index entries.
	hugeHeader := append(slices.Clone(rpmGood[:96]), 0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 16)
	hugeHeader = append(hugeHeader, make([]byte, 64)...)
	// An Arch package without .PKGINFO.
	var noInfo bytes.Buffer
	zw := gzip.NewWriter(&noInfo)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "usr/bin/x", Mode: 0o755, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	zw.Close()
	// An Arch package whose .PKGINFO climbs out of the root.
	var escape bytes.Buffer
	zw = gzip.NewWriter(&escape)
	tw = tar.NewWriter(zw)
	info := "pkgname = evil\npkgver = 1-1\narch = any\n"
	tw.WriteHeader(&tar.Header{Name: ".PKGINFO", Mode: 0o644, Size: int64(len(info)), Typeflag: tar.TypeReg})
	tw.Write([]byte(info))
	tw.WriteHeader(&tar.Header{Name: "../../etc/passwd", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	zw.Close()

	tests := []struct {
		name, filename string
		body           []byte
		status         int
		code           string
	}{
		{"rpm truncated in its header", "x.rpm", rpmGood[:200], 400, "invalid_package"},
		{"rpm with a corrupt header", "x.rpm", flip(rpmGood, 110), 400, "invalid_package"},
		{"rpm header too large", "x.rpm", hugeHeader, 413, "too_large"},
		{"rpm lead only", "x.rpm", rpmGood[:96], 400, "invalid_package"},
		{"Arch package truncated", "x-1-1-any.pkg.tar.zst", archGood[:len(archGood)/2], 400, "invalid_package"},
		{"Arch package without .PKGINFO", "x-1-1-any.pkg.tar.gz", noInfo.Bytes(), 400, "invalid_package"},
		{"Arch package with ../ in a path", "x-1-1-any.pkg.tar.gz", escape.Bytes(), 400, "invalid_package"},
		{"apk truncated", "x.apk", apkGood[:len(apkGood)/2], 400, "invalid_package"},
		{"apk with a corrupt data stream", "x.apk", flip(apkGood, len(apkGood)-30), 400, "invalid_package"},
		{"zstd that is no package", "", []byte{0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3}, 400, "invalid_package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			if tt.filename != "" {
				q.Set("filename", tt.filename)
			}
			out := e.pushAs("app", "main", tt.body, q, tt.status)
			var body struct{ Code, Message string }
			if err := json.Unmarshal(out, &body); err != nil || body.Code != tt.code || body.Message == "" {
				t.Fatalf("answer %s, want code %s", out, tt.code)
			}
		})
	}
	listed := func() int {
		var l struct{ Packages []any }
		if err := json.Unmarshal(e.json("GET", "/api/v1/projects/app/packages?branch=main", nil, 200), &l); err != nil {
			t.Fatal(err)
		}
		return len(l.Packages)
	}
	if n := listed(); n != 0 {
		t.Fatalf("after bad pushes the branch holds %d packages", n)
	}
	if blobs, _ := os.ReadDir(e.data + "/blobs"); countFiles(t, e.data+"/blobs") != 0 {
		t.Fatalf("bad pushes left blobs: %v", blobs)
	}
	for _, good := range []struct {
		name string
		body []byte
	}{{"good.rpm", rpmGood}, {"good-1.0.0-1-x86_64.pkg.tar.zst", archGood}, {"good.apk", apkGood}} {
		e.pushAs("app", "main", good.body, url.Values{"filename": {good.name}}, 201)
	}
	if n := listed(); n != 3 {
		t.Fatalf("after good pushes the branch holds %d packages", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestRepoFileAndKeys(t *testing.T) {
	e := newEnv(t, service.Config{})
	e.json("POST", "/api/v1/projects", map[string]any{"name": "app", "default_branch": "main", "repositories": []string{"product"}}, 201)
	repo := string(e.get("/rpm/product/main/product.repo", 200))
	for _, want := range []string{"[product-main]", "baseurl=" + e.srv.URL + "/rpm/product/main\n", "gpgcheck=1", "repo_gpgcheck=1", "gpgkey=" + e.srv.URL + "/keys/packhouse.asc"} {
		if !strings.Contains(repo, want) {
			t.Fatalf(".repo lacks %q:\n%s", want, repo)
		}
	}
	if repo := string(e.get("/rpm/product/main/product.repo?gpgcheck=0", 200)); !strings.Contains(repo, "gpgcheck=0") {
		t.Fatalf(".repo?gpgcheck=0:\n%s", repo)
	}
	e.get("/rpm/product/no-such-branch/product.repo", 404)
	// zypper looks for the key beside repomd.xml.
	if key := e.get("/rpm/product/main/repodata/repomd.xml.key", 200); !bytes.Equal(key, e.get("/keys/packhouse.asc", 200)) {
		t.Fatalf("repomd.xml.key is not the server's key:\n%s", key)
	}
	e.get("/rpm/product/no-such-branch/repodata/repomd.xml.key", 404)
	var keys struct{ Fingerprint, OpenPGP, APKKeyName string }
	json.Unmarshal(e.get("/api/v1/keys", 200), &keys)
	if keys.Fingerprint != e.key.Fingerprint() || keys.OpenPGP != e.srv.URL+"/keys/packhouse.asc" {
		t.Fatalf("keys = %+v", keys)
	}
	// An empty view is still a valid repository of every format.
	if md := string(e.get("/rpm/product/main/repodata/repomd.xml", 200)); !strings.Contains(md, `<data type="primary">`) {
		t.Fatalf("repomd.xml:\n%s", md)
	}
	e.get("/arch/product/main/x86_64/product.db", 200)
	e.get("/arch/product/main/x86_64/product.db.sig", 200)
	e.get("/arch/product/main/x86_64/product.files", 200)
	e.get("/arch/product/main/x86_64/nothing.pkg.tar.zst", 404)
	e.get("/arch/product/main/x86_64/product.other", 404)
	e.get("/apk/product/main/x86_64/APKINDEX.tar.gz", 404) // the key is not RSA
	if sums := e.get("/files/product/main/SHA256SUMS", 200); len(sums) != 0 {
		t.Fatalf("SHA256SUMS of no files: %q", sums)
	}
}

// TestPublishAfterPush: a push publishes the pushed branch's views of the
// formats it brought, in the background; with LazyPublish, nothing is
// published until a view is read.
func TestPublishAfterPush(t *testing.T) {
	rpm, err := os.ReadFile(pkgtest.Build(t, pkgtest.Spec{Name: "srv", Version: "2.0"}, "rpm", build.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, lazy := range []bool{false, true} {
		e := newEnv(t, service.Config{LazyPublish: lazy})
		setupProducts(e)
		// A burst of pushes to one branch, as a CI job's parallel uploads.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				e.push("deps", "main", debtest.Make(debtest.Spec{Name: fmt.Sprint("lib", i), Version: "1.0", Arch: "amd64"}), 201)
			})
		}
		wg.Wait()
		e.pushAs("server", "feature/login", rpm, url.Values{"filename": {"srv-2.0-1.x86_64.rpm"}}, 201)
		e.svc.Close() // waits for the publications started

		ctx := context.Background()
		repo, err := e.svc.Meta().Repository(ctx, "product")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct {
			format, suite string
			want          bool
		}{
			{meta.FormatDeb, "main", !lazy},
			{meta.FormatRPM, "feature/login", !lazy},
			// Views that show a pushed package but are not of the branch
			// pushed to, and formats not pushed, wait to be read.
			{meta.FormatDeb, "feature/login", false},
			{meta.FormatRPM, "main", false},
		} {
			_, err := e.svc.Meta().Publication(ctx, repo.ID, v.format, v.suite)
			if got := err == nil; got != v.want || (err != nil && !errors.Is(err, meta.ErrNotFound)) {
				t.Errorf("lazy %v: %s publication of %s: %v, want published %v", lazy, v.format, v.suite, err, v.want)
			}
		}
		if lazy {
			continue
		}
		// The last build saw every push: reading does not publish again.
		before, _ := e.svc.Meta().Publication(ctx, repo.ID, meta.FormatDeb, "main")
		if got := len(e.packages("product", "main", "amd64")); got != 8 {
			t.Errorf("main has %d packages, want 8", got)
		}
		if after, _ := e.svc.Meta().Publication(ctx, repo.ID, meta.FormatDeb, "main"); after.Inputs != before.Inputs {
			t.Errorf("published after the burst with inputs %s, read needed %s", before.Inputs, after.Inputs)
		}
	}
}

// TestRestartServesSameIndexes: chunks are stored as their gzip member
// only; a server started again on the same data, with nothing in memory,
// serves the same plain and compressed indexes and publishes on them.
func TestRestartServesSameIndexes(t *testing.T) {
	e := newEnv(t, service.Config{LazyPublish: true})
	setupProducts(e)
	for i := range 3 {
		e.push("deps", "main", debtest.Make(debtest.Spec{Name: fmt.Sprint("lib", i), Version: "1.0", Arch: "amd64"}), 201)
	}
	rpm, err := os.ReadFile(pkgtest.Build(t, pkgtest.Spec{Name: "srv", Version: "2.0"}, "rpm", build.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	e.pushAs("deps", "main", rpm, url.Values{"filename": {"srv-2.0-1.x86_64.rpm"}}, 201)
	plain := "/apt/product/dists/main/main/binary-amd64/Packages"
	before := e.get(plain, 200)
	beforeGz := e.get(plain+".gz", 200)
	repomd := e.get("/rpm/product/main/repodata/repomd.xml", 200)

	again := &env{t: t, svc: service.New(e.svc.Meta(), e.svc.Blobs(), e.key, service.Config{LazyPublish: true}), admin: e.admin, key: e.key}
	again.srv = httptest.NewServer(httpapi.New(again.svc, httpapi.Options{}))
	t.Cleanup(func() { again.srv.Close(); again.svc.Close() })
	if got := again.get(plain, 200); !bytes.Equal(got, before) {
		t.Errorf("Packages after a restart:\n%s\nwant\n%s", got, before)
	}
	if got := again.get(plain+".gz", 200); !bytes.Equal(got, beforeGz) {
		t.Error("Packages.gz differs after a restart")
	}
	if got := again.get("/rpm/product/main/repodata/repomd.xml", 200); !bytes.Equal(got, repomd) {
		t.Errorf("repomd.xml after a restart:\n%s\nwant\n%s", got, repomd)
	}
	// A push after the restart publishes again from the stored chunks:
	// rpm-md's open checksums need the plain text of those not changed.
	again.push("deps", "main", debtest.Make(debtest.Spec{Name: "lib9", Version: "1.0", Arch: "amd64"}), 201)
	if got := again.packages("product", "main", "amd64"); len(got) != 4 {
		t.Errorf("after a push: %v", got)
	}
	checkRepomd(t, again, "product", "main")
}

// checkRepomd checks every file repomd.xml names against its checksums,
// compressed and open.
func checkRepomd(t *testing.T, e *env, repo, branch string) {
	t.Helper()
	md := string(e.get("/rpm/"+repo+"/"+branch+"/repodata/repomd.xml", 200))
	for _, data := range strings.Split(md, "<data ")[1:] {
		field := func(tag string) string {
			i := strings.Index(data, "<"+tag)
			j := strings.Index(data[i:], ">")
			k := strings.Index(data[i:], "</"+tag+">")
			return data[i+j+1 : i+k]
		}
		href := data[strings.Index(data, `href="`)+6:]
		href = href[:strings.IndexByte(href, '"')]
		gz := e.get("/rpm/"+repo+"/"+branch+"/"+href, 200)
		if sum := sha256.Sum256(gz); hex.EncodeToString(sum[:]) != field("checksum") {
			t.Errorf("%s: checksum %x, repomd.xml says %s", href, sum, field("checksum"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		open, _ := io.ReadAll(zr)
		if sum := sha256.Sum256(open); hex.EncodeToString(sum[:]) != field("open-checksum") {
			t.Errorf("%s: open checksum %x, repomd.xml says %s", href, sum, field("open-checksum"))
		}
	}
}

// TestNameLengths: names, plain files' versions and architectures have
// upper bounds, checked apart from their patterns.
func TestNameLengths(t *testing.T) {
	e := newEnv(t, service.Config{})
	e.json("POST", "/api/v1/projects", map[string]any{"name": strings.Repeat("p", 64), "default_branch": "main", "repositories": []string{"app"}}, 201)
	e.json("POST", "/api/v1/projects", map[string]any{"name": strings.Repeat("p", 65), "default_branch": "main"}, 400)
	name := strings.Repeat("p", 64)
	for _, tc := range []struct {
		version, arch string
		want          int
	}{
		{strings.Repeat("1", 128), "", 201},
		{strings.Repeat("1", 129), "", 400},
		{"1.0", strings.Repeat("a", 32), 201},
		{"1.0", strings.Repeat("a", 33), 400},
	} {
		q := url.Values{"name": {"tool"}, "version": {tc.version}, "filename": {"tool.bin"}}
		if tc.arch != "" {
			q.Set("arch", tc.arch)
		}
		e.pushAs(name, "main", []byte(tc.version+tc.arch), q, tc.want)
	}
}
