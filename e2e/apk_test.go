package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainguard-dev/clog"
	goapk "github.com/chainguard-dev/go-apk/pkg/apk"
	"github.com/chainguard-dev/go-apk/pkg/expandapk"
	apkfs "github.com/chainguard-dev/go-apk/pkg/fs"

	"github.com/packhouse/packhouse/internal/index/apkindex"
	"github.com/packhouse/packhouse/internal/sign"
)

// There is no apk on Debian. go-apk (github.com/chainguard-dev/go-apk,
// the library apko builds Wolfi images with) stands in for it: a reader of
// APKINDEX and .apk files and an installer written apart from packhouse.
// It is a dependency of this test only.
//
// What this go-apk does and does not check, read from its source:
//   - it verifies an index's signature only when it is .SIGN.RSA.<key>
//     (RSA with SHA-1), and refuses .SIGN.RSA256.<key> (SHA-256), which
//     packhouse writes and apk-tools verifies. So the test checks the server's
//     SHA-256 signature itself, then signs the same index bytes with SHA-1
//     and the server's own key (sha1Signer below), and go-apk verifies
//     that with the key from the server's key URL;
//   - its installer checks each file's APK-TOOLS.checksum.SHA1, but neither
//     a package's signature, nor its control segment against the index's
//     C: checksum, nor its data against .PKGINFO's datahash. The test
//     compares those from go-apk's own split of the package
//     (checkPackage).

// The branch view of one project, read and installed from by go-apk,
// shows a package whose dependency lives only in another project's
// default branch; a push shows a new version; a wrong key and a changed
// index are refused.
func TestGoAPKInstallAcrossProjects(t *testing.T) {
	s := startProduct(t)
	packager, signed := apkPackagerKey(t)

	s.ph("push", "--project", "deps", "--branch", "main", s.buildPkg(t, pkgSpec{name: "libgreet", version: "0.1.0", arch: "all", extra: signed}, "apk"))
	s.ph("push", "--project", "server", "--branch", "main", s.buildPkg(t, pkgSpec{name: "greeter", version: "1.0.0", arch: "amd64", extra: signed}, "apk"))
	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.0.0", arch: "amd64", depends: []string{"libgreet"}, extra: signed}, "apk"))

	c := newGoAPK(t, s, "product", "feature/login")

	// As served, go-apk cannot read the signature (see above); once it
	// can, sha1Signer is no longer needed.
	if _, err := c.indexWith(c.keys, asServed); err == nil || !strings.Contains(err.Error(), ".SIGN.RSA256.") {
		t.Fatalf("go-apk read the SHA-256-signed index as served (%v): drop sha1Signer and check the served signature with go-apk", err)
	}

	idx := c.index()
	want := map[string]string{"greeter": "2.0.0-r1 x86_64 [libgreet]", "libgreet": "0.1.0-r1 noarch []"}
	if got := listing(idx); !maps.Equal(got, want) {
		t.Fatalf("go-apk reads the feature/login index as %v, want %v", got, want)
	}
	for _, p := range idx {
		c.checkPackage(p, packager)
	}

	// The installer resolves libgreet from the deps project's default
	// branch, fetching the index and the packages from the server.
	root, installed := c.install("greeter")
	if want := []string{"greeter-2.0.0-r1", "libgreet-0.1.0-r1"}; !slices.Equal(installed, want) {
		t.Errorf("go-apk installed %v, want %v", installed, want)
	}
	for name, body := range map[string]string{"greeter": "greeter 2.0.0\n", "libgreet": "libgreet 0.1.0\n"} {
		if b, err := os.ReadFile(filepath.Join(root, "usr/share", name, "payload")); err != nil || string(b) != body {
			t.Errorf("installed %s payload: %q, %v", name, b, err)
		}
	}

	// A push to the branch: a fresh fetch sees the new version only.
	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.1.0", arch: "amd64", depends: []string{"libgreet"}, extra: signed}, "apk"))
	want["greeter"] = "2.1.0-r1 x86_64 [libgreet]"
	if got := listing(c.index()); !maps.Equal(got, want) {
		t.Fatalf("after the push go-apk reads %v, want %v", got, want)
	}

	// The default branch has the default branch's greeter.
	m := newGoAPK(t, s, "product", "main")
	if got, want := listing(m.index()), map[string]string{"greeter": "1.0.0-r1 x86_64 []", "libgreet": "0.1.0-r1 noarch []"}; !maps.Equal(got, want) {
		t.Fatalf("go-apk reads the main index as %v, want %v", got, want)
	}

	// Signatures are checked, not merely fetched: another key under the
	// server's key's name is refused ...
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrong := map[string][]byte{c.keyName: publicPEM(t, &other.PublicKey)}
	if _, err := c.indexWith(wrong, c.signer(nil)); err == nil || !strings.Contains(err.Error(), "no key found to verify signature") {
		t.Fatalf("go-apk with another key: %v", err)
	}
	// ... and so is an index changed after it was signed, which go-apk
	// reads when told not to check.
	tamper := func(b []byte) []byte { return replaceInIndex(t, b, "V:2.1.0-r1\n", "V:9.9.9-r1\n") }
	if _, err := c.indexWith(c.keys, c.signer(tamper)); err == nil || !strings.Contains(err.Error(), "no key found to verify signature") {
		t.Fatalf("go-apk with a changed index: %v", err)
	}
	unchecked, err := c.indexWith(c.keys, c.signer(tamper), goapk.WithIgnoreSignatures(true))
	if err != nil || listing(unchecked)["greeter"] != "9.9.9-r1 x86_64 [libgreet]" {
		t.Fatalf("go-apk, not checking, reads the changed index as %v, %v", listing(unchecked), err)
	}
}

// goAPK is go-apk pointed at one view of a packhouse server, with the
// server's key installed as `repo-config --format apk` says.
type goAPK struct {
	t       *testing.T
	s       *server
	repo    *url.URL          // the /etc/apk/repositories line
	keyURL  *url.URL          // the server's stable key URL
	keyName string            // the key's file name in /etc/apk/keys
	keys    map[string][]byte // what go-apk trusts: keyName and the PEM key fetched from keyURL
	pub     *rsa.PublicKey    // that key
	priv    crypto.Signer     // the server's own key, for sha1Signer
}

// apkArch is the architecture the test's client asks for.
const apkArch = "x86_64"

func newGoAPK(t *testing.T, s *server, repo, branch string) *goAPK {
	t.Helper()
	conf := s.ph("repo-config", repo, branch, "--format", "apk")
	// "# wget -O /etc/apk/keys/NAME.rsa.pub KEY-URL", then the repository.
	lines := strings.Split(strings.TrimSpace(conf), "\n")
	wget := strings.Fields(lines[0])
	if len(lines) != 2 || len(wget) != 5 || wget[1] != "wget" || !strings.HasPrefix(wget[3], "/etc/apk/keys/") {
		t.Fatalf("repo-config --format apk:\n%s", conf)
	}
	c := &goAPK{t: t, s: s, keyName: path.Base(wget[3])}
	var err error
	if c.repo, err = url.Parse(lines[1]); err != nil {
		t.Fatal(err)
	}
	if c.keyURL, err = url.Parse(wget[4]); err != nil {
		t.Fatal(err)
	}
	// apk looks the key up by the name in the signature's file name.
	if path.Base(c.keyURL.Path) != c.keyName || !strings.HasSuffix(c.keyName, ".rsa.pub") {
		t.Fatalf("the key is fetched from %s into /etc/apk/keys/%s", c.keyURL, c.keyName)
	}
	key, err := fetchURL(c.keyURL.String())
	if err != nil {
		t.Fatal(err)
	}
	c.keys = map[string][]byte{c.keyName: key}
	block, _ := pem.Decode(key)
	if block == nil {
		t.Fatalf("%s is not PEM:\n%s", c.keyURL, key)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if c.pub, _ = pub.(*rsa.PublicKey); err != nil || c.pub == nil {
		t.Fatalf("%s: not an RSA public key: %v", c.keyURL, err)
	}

	// sha1Signer signs with the server's key: the key file packhouse
	// makes on first start, which an operator may replace.
	armored, err := os.ReadFile(filepath.Join(s.data, "keys", "signing.asc"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.Load(armored)
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	if c.priv, ok = k.RSA(); !ok {
		t.Fatal("the server's key is not RSA")
	}
	return c
}

// hosts numbers the host names go-apk reaches the server under. go-apk
// keeps each remote index it has read, by URL, for the life of the process
// (its globalIndexCache), and packages too; a host name of its own makes
// each fetch a fresh one.
var hosts atomic.Int64

// client returns an HTTP client that reaches the server, whatever the
// host name, through transport rt, and a host name not used before.
func (c *goAPK) client(rt transport) (*http.Client, string) {
	addr := strings.TrimPrefix(c.s.url, "http://")
	var d net.Dialer
	direct := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	c.t.Cleanup(direct.CloseIdleConnections)
	return &http.Client{Transport: rt(direct), Timeout: time.Minute}, fmt.Sprintf("view%d.packhouse.test", hosts.Add(1))
}

// at is u on another host.
func at(u *url.URL, host string) string {
	v := *u
	v.Host = host
	return v.String()
}

// transport wraps the transport that reaches the server.
type transport func(http.RoundTripper) http.RoundTripper

// asServed passes the server's answers on unchanged.
func asServed(rt http.RoundTripper) http.RoundTripper { return rt }

// signer is sha1Signer as a transport, with an optional change to the
// index after signing.
func (c *goAPK) signer(tamper func([]byte) []byte) transport {
	return func(next http.RoundTripper) http.RoundTripper {
		return &sha1Signer{next: next, c: c, tamper: tamper}
	}
}

// sha1Signer passes requests to the server. Of an APKINDEX.tar.gz it
// answers, it checks the .SIGN.RSA256 signature, made with SHA-256, with
// the key from the key URL, and signs the same index bytes again, with
// SHA-1 and the server's key, as .SIGN.RSA.<the same name>: the one
// signature this go-apk verifies. go-apk then checks what the two have in
// common: the framing (a gzip member of its own ahead of the index,
// covering every byte after it), the key's name and the key.
type sha1Signer struct {
	next   http.RoundTripper
	c      *goAPK
	tamper func([]byte) []byte
}

func (x *sha1Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := x.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || path.Base(req.URL.Path) != "APKINDEX.tar.gz" {
		return resp, err
	}
	served, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	sigName, sig, index, err := splitSignature(served)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.URL, err)
	}
	if sigName != ".SIGN.RSA256."+x.c.keyName {
		return nil, fmt.Errorf("%s is signed as %s, not by %s", req.URL, sigName, x.c.keyName)
	}
	sum := sha256.Sum256(index)
	if err := rsa.VerifyPKCS1v15(x.c.pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("%s: the server's signature: %w", req.URL, err)
	}
	resigned, err := apkindex.SignWith(index, x.c.priv, strings.TrimSuffix(x.c.keyName, ".rsa.pub"), crypto.SHA1)
	if err != nil {
		return nil, err
	}
	if x.tamper != nil {
		resigned = x.tamper(resigned)
	}
	resp.Body = io.NopCloser(bytes.NewReader(resigned))
	resp.ContentLength = int64(len(resigned))
	resp.Header.Del("Content-Length")
	resp.Header.Del("ETag")
	return resp, nil
}

// splitSignature splits a signed apk stream into its signature, the first
// gzip member, which holds one tar entry and no end-of-archive blocks, and
// the bytes the signature covers: for an index, the rest of the file; for
// a package, the rest holds the control and the data members.
func splitSignature(b []byte) (name string, sig, rest []byte, err error) {
	r := bytes.NewReader(b)
	// A bytes.Reader is an io.ByteReader: gzip reads no further than the
	// member's end.
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", nil, nil, err
	}
	zr.Multistream(false)
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil {
		return "", nil, nil, fmt.Errorf("signature segment: %w", err)
	}
	if sig, err = io.ReadAll(tr); err != nil {
		return "", nil, nil, err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return "", nil, nil, err
	}
	return h.Name, sig, b[len(b)-r.Len():], nil
}

// indexWith reads the view's index for apkArch with go-apk's
// GetRepositoryIndexes, trusting keys, over a transport.
func (c *goAPK) indexWith(keys map[string][]byte, rt transport, opts ...goapk.IndexOption) ([]*goapk.RepositoryPackage, error) {
	client, host := c.client(rt)
	opts = append([]goapk.IndexOption{goapk.WithHTTPClient(client)}, opts...)
	indexes, err := goapk.GetRepositoryIndexes(c.ctx(), []string{at(c.repo, host)}, keys, apkArch, opts...)
	if err != nil {
		return nil, err
	}
	if len(indexes) != 1 {
		return nil, fmt.Errorf("%d indexes", len(indexes))
	}
	return indexes[0].Packages(), nil
}

// index reads the view's index with go-apk, checking its signature.
func (c *goAPK) index() []*goapk.RepositoryPackage {
	c.t.Helper()
	pkgs, err := c.indexWith(c.keys, c.signer(nil))
	if err != nil {
		c.t.Fatalf("go-apk reading the index of %s: %v", c.repo, err)
	}
	return pkgs
}

// ctx sends go-apk's log to the test's.
func (c *goAPK) ctx() context.Context {
	return clog.WithLogger(context.Background(), clog.New(slog.NewTextHandler(c.t.Output(), nil)))
}

// install installs pkgs and what they depend on into a new root with
// go-apk's installer, as `apk add --initdb --root` would, and returns the
// root and what its database lists as installed. The server's key is
// fetched from its key URL into the root's /etc/apk/keys, and the index's
// signature is checked with it. It needs no root: no device nodes are
// made, and go-apk keeps the owners it cannot set in memory.
func (c *goAPK) install(pkgs ...string) (string, []string) {
	c.t.Helper()
	root := c.t.TempDir()
	fsys := apkfs.DirFS(root)
	if fsys == nil {
		c.t.Fatalf("go-apk cannot use %s", root)
	}
	a, err := goapk.New(goapk.WithFS(noDevices{fsys}), goapk.WithArch(apkArch), goapk.WithIgnoreMknodErrors(true))
	if err != nil {
		c.t.Fatal(err)
	}
	client, host := c.client(c.signer(nil))
	a.SetClient(client)
	ctx := c.ctx()
	steps := []struct {
		what string
		do   func() error
	}{
		{"InitDB", func() error { return a.InitDB(ctx) }},
		{"InitKeyring", func() error { return a.InitKeyring(ctx, []string{at(c.keyURL, host)}, nil) }},
		{"SetRepositories", func() error { return a.SetRepositories(ctx, []string{at(c.repo, host)}) }},
		{"SetWorld", func() error { return a.SetWorld(ctx, pkgs) }},
		{"FixateWorld", func() error { epoch := time.Unix(0, 0); return a.FixateWorld(ctx, &epoch) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			c.t.Fatalf("go-apk %s: %v", s.what, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/apk/keys", c.keyName)); err != nil || !bytes.Equal(b, c.keys[c.keyName]) {
		c.t.Fatalf("the root's /etc/apk/keys/%s: %q, %v", c.keyName, b, err)
	}
	installed, err := a.GetInstalled()
	if err != nil {
		c.t.Fatal(err)
	}
	var names []string
	for _, p := range installed {
		names = append(names, p.Name+"-"+p.Version)
	}
	slices.Sort(names)
	return root, names
}

// noDevices is a go-apk file system that makes no device nodes: InitDB
// makes /dev/null and others, which only root may, and which the
// packages here do not need.
type noDevices struct{ apkfs.FullFS }

func (noDevices) Mknod(string, uint32, int) error {
	return errors.New("no device nodes in a test root")
}

// checkPackage downloads p and has go-apk split it into its gzip members,
// then checks what apk-tools checks and go-apk's installer does not: the
// control member is the one the index names by its SHA-1 (C:), the data
// member is the one .PKGINFO names by its SHA-256 (datahash), the sizes
// agree, and the packager's signature covers the control member.
func (c *goAPK) checkPackage(p *goapk.RepositoryPackage, packager *rsa.PublicKey) {
	c.t.Helper()
	client, host := c.client(asServed)
	u, err := url.Parse(p.URL())
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := client.Get(at(u, host))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s", u, resp.Status)
	}
	exp, err := expandapk.ExpandApk(c.ctx(), resp.Body, "")
	if err != nil {
		c.t.Fatalf("go-apk expanding %s: %v", p.Filename(), err)
	}
	defer exp.Close()

	if !bytes.Equal(exp.ControlHash, p.Checksum) {
		c.t.Errorf("%s: the control member's SHA-1 is %x, the index says %x", p.Filename(), exp.ControlHash, p.Checksum)
	}
	if uint64(exp.Size) != p.Size {
		c.t.Errorf("%s: %d bytes, the index says %d", p.Filename(), exp.Size, p.Size)
	}
	pkginfo, err := fs.ReadFile(exp.ControlFS, ".PKGINFO")
	if err != nil {
		c.t.Fatal(err)
	}
	if want := "datahash = " + hex.EncodeToString(exp.PackageHash) + "\n"; !bytes.Contains(pkginfo, []byte(want)) {
		c.t.Errorf("%s: .PKGINFO has no %q:\n%s", p.Filename(), want, pkginfo)
	}
	for _, line := range []string{"pkgname = " + p.Name, "pkgver = " + p.Version} {
		if !bytes.Contains(pkginfo, []byte(line+"\n")) {
			c.t.Errorf("%s: .PKGINFO has no %q:\n%s", p.Filename(), line, pkginfo)
		}
	}

	if !exp.Signed {
		c.t.Fatalf("%s is not signed", p.Filename())
	}
	sigMember, err := os.ReadFile(exp.SignatureFile)
	if err != nil {
		c.t.Fatal(err)
	}
	control, err := os.ReadFile(exp.ControlFile)
	if err != nil {
		c.t.Fatal(err)
	}
	name, sig, rest, err := splitSignature(append(sigMember, control...))
	if err != nil || !bytes.Equal(rest, control) {
		c.t.Fatalf("%s: signature member: %v", p.Filename(), err)
	}
	sum := sha256.Sum256(control)
	if name != ".SIGN.RSA256."+apkPackagerKeyName || rsa.VerifyPKCS1v15(packager, crypto.SHA256, sum[:], sig) != nil {
		c.t.Errorf("%s: %s does not verify with the packager's key", p.Filename(), name)
	}
}

// listing is an index as name: "version arch [depends]".
func listing(pkgs []*goapk.RepositoryPackage) map[string]string {
	m := map[string]string{}
	for _, p := range pkgs {
		m[p.Name] = fmt.Sprintf("%s %s %v", p.Version, p.Arch, p.Dependencies)
	}
	return m
}

// replaceInIndex changes the APKINDEX text of a signed index, keeping the
// signature member as it is.
func replaceInIndex(t *testing.T, signed []byte, old, new string) []byte {
	t.Helper()
	_, _, index, err := splitSignature(signed)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(index))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(zr)
	changed := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "APKINDEX" && bytes.Contains(b, []byte(old)) {
			b = bytes.Replace(b, []byte(old), []byte(new), 1)
			h.Size = int64(len(b))
			changed = true
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	if !changed {
		t.Fatalf("the index has no %q", old)
	}
	tw.Close()
	zw.Close()
	return append(signed[:len(signed)-len(index):len(signed)-len(index)], out.Bytes()...)
}

// apkPackagerKey makes an RSA key that signs packages, as abuild-keygen
// would, and returns its public half and the spec section that uses it.
func apkPackagerKey(t *testing.T) (*rsa.PublicKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "packager.rsa")
	der := x509.MarshalPKCS1PrivateKey(k)
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey, "apk:\n  signature:\n    key_file: " + file + "\n    key_name: " + apkPackagerKeyName + "\n"
}

const apkPackagerKeyName = "packager@example.org-1.rsa.pub"

func publicPEM(t *testing.T, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
