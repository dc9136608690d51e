package apkindex

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"
)

// TestGoAPK reads indexes with go-apk (chainguard-dev/go-apk), an apk
// repository reader written apart from packhouse: every field as written,
// the signature as made by SignWith with SHA-1 verified with the public
// key, and a wrong key refused. This go-apk verifies no .SIGN.RSA256.
// signatures, so Sign's own output is checked by TestBuild and openssl.
func TestGoAPK(t *testing.T) {
	key := testKey()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	var unsigned strings.Builder
	if _, err := WriteIndex(&unsigned, fixtures(), "packhouse server/feature-x"); err != nil {
		t.Fatal(err)
	}
	signed, err := SignWith([]byte(unsigned.String()), key, "packhouse-test", crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}

	// go-apk reads a repository in a directory as DIR/ARCH/APKINDEX.tar.gz.
	// It keeps what it has read of a path until the file changes, so each
	// read is of a directory of its own.
	read := func(keys map[string][]byte) ([]*goapk.RepositoryPackage, error) {
		repo := t.TempDir()
		os.MkdirAll(filepath.Join(repo, "x86_64"), 0o755)
		if err := os.WriteFile(filepath.Join(repo, "x86_64", "APKINDEX.tar.gz"), signed, 0o644); err != nil {
			t.Fatal(err)
		}
		indexes, err := goapk.GetRepositoryIndexes(t.Context(), []string{repo}, keys, "x86_64")
		if err != nil {
			return nil, err
		}
		if len(indexes) != 1 {
			t.Fatalf("go-apk read %d indexes", len(indexes))
		}
		return indexes[0].Packages(), nil
	}

	got, err := read(map[string][]byte{"packhouse-test.rsa.pub": pub})
	if err != nil {
		t.Fatalf("go-apk: %v", err)
	}
	want := slices.Clone(fixtures())
	slices.SortFunc(want, func(a, b *Package) int { return strings.Compare(a.Name, b.Name) })
	if len(got) != len(want) {
		t.Fatalf("go-apk read %d packages, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		// The fields go-apk reads, in packhouse's names.
		read := &Package{
			Checksum: "Q1" + base64.StdEncoding.EncodeToString(g.Checksum), Name: g.Name, Version: g.Version,
			Arch: g.Arch, Description: g.Description, URL: g.Package.URL, License: g.License, Origin: g.Origin,
			Maintainer: g.Maintainer, Commit: g.RepoCommit, Size: int64(g.Size), InstalledSize: int64(g.InstalledSize),
			BuildTime: g.BuildDate, Depends: g.Dependencies, Provides: g.Provides, InstallIf: g.InstallIf,
		}
		w := *w
		// A line break in a value would start a field; it is a space.
		w.Description = strings.NewReplacer("\n", " ", "\r", " ").Replace(w.Description)
		if fmt.Sprintf("%+v", *read) != fmt.Sprintf("%+v", w) {
			t.Errorf("go-apk reads %s as\n%+v\nwant\n%+v", w.Name, *read, w)
		}
	}

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err = x509.MarshalPKIXPublicKey(&other.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	wrong := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if _, err := read(map[string][]byte{"packhouse-test.rsa.pub": wrong}); err == nil {
		t.Fatal("go-apk accepted the index with another key")
	}
}
