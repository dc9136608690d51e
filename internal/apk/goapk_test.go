package apk

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chainguard-dev/clog"
	goapk "github.com/chainguard-dev/go-apk/pkg/apk"
	"github.com/chainguard-dev/go-apk/pkg/expandapk"
	apkfs "github.com/chainguard-dev/go-apk/pkg/fs"
)

// localPackage is a package file go-apk installs without an index.
type localPackage struct{ path, name, checksum string }

func (p localPackage) URL() string            { return p.path }
func (p localPackage) PackageName() string    { return p.name }
func (p localPackage) ChecksumString() string { return p.checksum }

// noDevices makes no device nodes, which only root may make.
type noDevices struct{ apkfs.FullFS }

func (noDevices) Mknod(string, uint32, int) error {
	return errors.New("no device nodes in a test root")
}

// TestGoAPK has go-apk (chainguard-dev/go-apk), an apk reader and
// installer written apart from packhouse, read the golden package and
// install it into a throwaway root: it checks every regular file's
// APK-TOOLS.checksum.SHA1 as it unpacks. What it reads of .PKGINFO, the
// hashes of its split of the file, and what lands in the root, must be
// what the spec and packhouse's reader say. This go-apk does not verify
// package signatures; TestRoundTrip does.
func TestGoAPK(t *testing.T) {
	golden := filepath.Join("testdata", "hello-packhouse_1.2.3-r1_x86_64.apk")
	ctx := clog.WithLogger(context.Background(), clog.New(slog.NewTextHandler(t.Output(), nil)))

	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := goapk.ParsePackage(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("go-apk: %v", err)
	}
	if pkg.Name != "hello-packhouse" || pkg.Version != "1.2.3-r1" || pkg.Arch != "x86_64" || pkg.License != "MIT" ||
		pkg.BuildDate != 1700000000 || pkg.Maintainer != "Packhouse Tests <tests@packhouse.example>" || pkg.InstalledSize == 0 {
		t.Errorf("go-apk reads .PKGINFO as %+v", pkg)
	}
	// go-apk's own split of the file: the control member's SHA-1 is the
	// package's identity in an index, and .PKGINFO's datahash is the data
	// member's SHA-256.
	exp, err := expandapk.ExpandApk(ctx, bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	if sum := sha1.Sum(ours.ControlSegment); !bytes.Equal(exp.ControlHash, sum[:]) {
		t.Errorf("go-apk's control checksum %x, packhouse's %x", exp.ControlHash, sum)
	}
	if h := hex.EncodeToString(exp.PackageHash); h != ours.Get("datahash") {
		t.Errorf("go-apk's data hash %s, .PKGINFO's %s", h, ours.Get("datahash"))
	}
	if exp.Size != int64(len(data)) || !exp.Signed {
		t.Errorf("go-apk splits %d bytes, signed %v, of %d", exp.Size, exp.Signed, len(data))
	}

	root := t.TempDir()
	a, err := goapk.New(goapk.WithFS(noDevices{apkfs.DirFS(root)}), goapk.WithArch("x86_64"), goapk.WithIgnoreMknodErrors(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.InitDB(ctx); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(golden)
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(0, 0)
	if err := a.InstallPackages(ctx, &epoch, []goapk.InstallablePackage{localPackage{abs, pkg.Name, pkg.ChecksumString()}}); err != nil {
		t.Fatalf("go-apk installing: %v", err)
	}

	hello := filepath.Join(root, "usr/bin/hello-packhouse")
	if fi, err := os.Stat(hello); err != nil || fi.Mode().Perm() != 0o755 || fi.Size() != 31 {
		t.Errorf("%s: %v, %v", hello, fi, err)
	}
	for link, target := range map[string]string{"usr/bin/hi-packhouse": "hello-packhouse", "usr/share/man/man1/hi-packhouse.1.gz": "hello-packhouse.1.gz"} {
		if got, err := os.Readlink(filepath.Join(root, link)); err != nil || got != target {
			t.Errorf("%s -> %q, %v; want %s", link, got, err, target)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/hello-packhouse")); err != nil || !fi.IsDir() {
		t.Errorf("var/lib/hello-packhouse: %v", err)
	}
	conf, err := os.ReadFile(filepath.Join(root, "etc/hello-packhouse.conf"))
	if want, _ := os.ReadFile("../../testdata/hello/hello.conf"); err != nil || string(conf) != string(want) {
		t.Errorf("etc/hello-packhouse.conf: %q, %v", conf, err)
	}

	// The installed database records each file with the checksum from
	// its PAX record, as apk's does (Q1 and base64), and the scripts
	// under apk's names.
	db, err := os.ReadFile(filepath.Join(root, "lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(hello)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(body)
	if want := "\nR:hello-packhouse\na:0:0:0755\nZ:Q1" + base64.StdEncoding.EncodeToString(sum[:]) + "\n"; !strings.Contains(string(db), want) {
		t.Errorf("the installed database has no %q:\n%s", want, db)
	}
	scriptsTar, err := os.ReadFile(filepath.Join(root, "lib/apk/db/scripts.tar"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := tar.NewReader(bytes.NewReader(scriptsTar))
	var names []string
	for {
		h, err := scripts.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Ext(h.Name))
	}
	slices.Sort(names)
	if want := []string{".post-deinstall", ".post-install", ".pre-deinstall", ".pre-install"}; !slices.Equal(names, want) {
		t.Errorf("scripts.tar holds %v, want %v", names, want)
	}
}
