package rpmmd_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packhouse/packhouse/internal/index/rpmmd"
	"github.com/packhouse/packhouse/internal/rpm"
)

// TestReadMatchesCreaterepo is the acceptance test of rpm.Read: for the
// same rpms, createrepo_c's primary.xml, filelists.xml and other.xml and
// ours, written from what rpm.Read makes of the rpms, list the same
// packages with the same checksums, dependencies, files and changelogs,
// field for field and byte for byte.
func TestReadMatchesCreaterepo(t *testing.T) {
	ref := rpmmd.BuildReference(t)
	refPkgs := rpmmd.ParseDocuments(t, ref.Primary, ref.Filelists, ref.Other)

	read := make(map[string]*rpmmd.Package)
	for _, path := range ref.RPMs {
		p := readPackage(t, path)
		read[p.SHA256] = p
	}
	// In createrepo_c's order, which is the index builder's business,
	// not the reader's.
	var pkgs []*rpmmd.Package
	for _, want := range refPkgs {
		p, ok := read[want.SHA256]
		if !ok {
			t.Fatalf("createrepo_c lists %s with checksum %s, which is none of the rpms", want.Location, want.SHA256)
		}
		delete(read, want.SHA256)
		pkgs = append(pkgs, p)
	}
	for _, p := range read {
		t.Errorf("createrepo_c does not list %s", p.Location)
	}

	primary, filelists, other := rpmmd.Documents(pkgs)
	got := rpmmd.ParseDocuments(t, primary, filelists, other)
	for i := range refPkgs {
		if d := rpmmd.DiffPackage(got[i], refPkgs[i]); d != "" {
			t.Errorf("%s: ours and createrepo_c's read back differently:\n%s", refPkgs[i].Location, d)
		}
	}
	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"primary.xml", primary, ref.Primary},
		{"filelists.xml", filelists, ref.Filelists},
		{"other.xml", other, ref.Other},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s differs from createrepo_c's:\n%s", tc.name, rpmmd.FirstDiff(tc.got, tc.want))
		}
	}
}

// readPackage reads the rpm at path with rpm.Read, and fills in what the
// caller knows of the file, as the server does.
func readPackage(t *testing.T, path string) *rpmmd.Package {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	info, err := rpm.Read(io.TeeReader(f, h), rpm.DefaultLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	if src := strings.HasSuffix(path, ".src.rpm"); info.Source != src {
		t.Errorf("%s: Source is %v", path, info.Source)
	}
	p := info.Meta
	p.SHA256 = hex.EncodeToString(h.Sum(nil))
	p.PackageSize = st.Size()
	p.FileTime = st.ModTime().Unix()
	p.Location = filepath.Base(path)
	return &p
}
