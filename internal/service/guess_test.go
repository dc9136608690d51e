package service_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"os"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/pkgtest"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// After a build, the next one is guessed to add a package, and the guess
// is hashed when a push to the branch starts (here: GuessDelay is
// negative); when it comes true, the build hashes little more than what
// it added, and the sums it publishes are still those of the bytes
// served. When it does not, the build hashes all it must, and its sums
// are right too.
func TestRPMGuessNextBuild(t *testing.T) {
	svc := newServiceConfig(t, sign.Ed25519, service.Config{GuessDelay: -1})
	pushAll(t, svc, rpmBodies(t, 300))
	checkRepodata(t, svc)

	// One more package: the guess comes true.
	before := svc.HashedByBuilds()
	pushRPM(t, svc, "pkg-00010", "2.0")
	total := checkRepodata(t, svc)
	if hashed := svc.HashedByBuilds() - before; hashed > total/4 {
		t.Errorf("one more rpm: builds hashed %d of the %d bytes of the documents; the guess was not used", hashed, total)
	}

	// Two before a build: the sums are still right, whichever states the
	// build resumed from.
	pushAll(t, svc, [][]byte{rpmBody(t, "pkg-00011", "2.0"), rpmBody(t, "pkg-00012", "2.0")})
	checkRepodata(t, svc)

	// And again one more, from the guess of a build of two.
	before = svc.HashedByBuilds()
	pushRPM(t, svc, "pkg-00013", "2.0")
	total = checkRepodata(t, svc)
	if hashed := svc.HashedByBuilds() - before; hashed > total/4 {
		t.Errorf("one more rpm after two: builds hashed %d of %d bytes", hashed, total)
	}

	// A build that starts while its guess is being hashed waits for it
	// rather than hash the same bytes beside it.
	before = svc.HashedByBuilds()
	sendRPM(t, svc, "pkg-00014", "2.0", false)
	total = checkRepodata(t, svc)
	if hashed := svc.HashedByBuilds() - before; hashed > total/4 {
		t.Errorf("one more rpm at once: builds hashed %d of %d bytes", hashed, total)
	}
}

// A branch whose views had no new build for GuessDelay has its guesses
// hashed before the next push starts.
func TestRPMGuessAfterQuiet(t *testing.T) {
	svc := newServiceConfig(t, sign.Ed25519, service.Config{GuessDelay: time.Millisecond})
	pushAll(t, svc, rpmBodies(t, 300))
	checkRepodata(t, svc)
	svc.WaitBackground() // the delay, then the hashing
	// Three documents, each gzip'd and open.
	if n := svc.GuessedFiles(); n != 6 {
		t.Fatalf("%d files' guesses hashed before the next push, want 6", n)
	}

	before := svc.HashedByBuilds()
	body := rpmBody(t, "pkg-00010", "2.0")
	if _, err := svc.Push(context.Background(), service.PushRequest{Project: "server", Branch: "main", Filename: "pkg.rpm", Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	total := checkRepodata(t, svc)
	if hashed := svc.HashedByBuilds() - before; hashed > total/4 {
		t.Errorf("one more rpm: builds hashed %d of the %d bytes of the documents; the guess was not hashed", hashed, total)
	}
}

// A view whose layout has a tail, after a second push of many packages,
// takes one more package at the tail's end: its build makes one small
// chunk and hashes little more, whatever the package's name.
func TestRPMOneMoreAfterTail(t *testing.T) {
	svc := newService(t, sign.Ed25519)
	bodies := rpmBodies(t, 540)
	pushAll(t, svc, bodies[:300])
	checkRepodata(t, svc)
	pushAll(t, svc, bodies[300:]) // fewer than 256 and a tenth more: a tail
	checkRepodata(t, svc)

	// Sorted by name, the tail would be hashed again from pkg-00001 on,
	// 45% of the bytes, and from pkg-00400 on, 27%.
	for _, name := range []string{"pkg-00001", "pkg-00400", "pkg-00539"} {
		hashed, rendered := svc.HashedByBuilds(), svc.RenderedByBuilds()
		pushRPM(t, svc, name, "2.0")
		total := checkRepodata(t, svc)
		if n := svc.RenderedByBuilds() - rendered; n > 64 {
			t.Errorf("one more rpm (%s): builds wrote %d packages into new chunks", name, n)
		}
		if n := svc.HashedByBuilds() - hashed; n > total/5 {
			t.Errorf("one more rpm (%s): builds hashed %d of the %d bytes of the documents", name, n, total)
		}
	}
}

func rpmBody(t *testing.T, name, version string) []byte {
	t.Helper()
	body, err := os.ReadFile(pkgtest.Build(t, pkgtest.Spec{Name: name, Version: version}, "rpm", build.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// pushRPM pushes one rpm as the push command does: it asks about it
// first, which starts hashing the guesses, then sends it.
func pushRPM(t *testing.T, svc *service.Service, name, version string) {
	t.Helper()
	sendRPM(t, svc, name, version, true)
}

// sendRPM is pushRPM, waiting or not for the guesses to be hashed before
// sending the rpm.
func sendRPM(t *testing.T, svc *service.Service, name, version string, wait bool) {
	t.Helper()
	ctx := context.Background()
	body := rpmBody(t, name, version)
	sum := sha256.Sum256(body)
	if _, err := svc.PushCheck(ctx, "server", "main", []string{hex.EncodeToString(sum[:])}, false); err != nil {
		t.Fatal(err)
	}
	if wait {
		svc.WaitBackground()
	}
	if _, err := svc.Push(ctx, service.PushRequest{Project: "server", Branch: "main", Filename: name + ".rpm", Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
}

// checkRepodata checks that every file repomd.xml names has the size and
// SHA-256 it gives, compressed and open, and returns their sizes' sum.
func checkRepodata(t *testing.T, svc *service.Service) int64 {
	t.Helper()
	ctx := context.Background()
	file := func(name string) []byte {
		c, _, err := svc.RPMFile(ctx, "product", "main", name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf bytes.Buffer
		if err := c.WriteTo(ctx, svc, &buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return buf.Bytes()
	}
	var md struct {
		Data []struct {
			Type         string `xml:"type,attr"`
			Checksum     string `xml:"checksum"`
			OpenChecksum string `xml:"open-checksum"`
			Size         int64  `xml:"size"`
			OpenSize     int64  `xml:"open-size"`
			Location     struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(file("repodata/repomd.xml"), &md); err != nil || len(md.Data) != 3 {
		t.Fatalf("repomd.xml: %d files, %v", len(md.Data), err)
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	var total int64
	for _, d := range md.Data {
		gz := file(d.Location.Href)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: %v", d.Type, err)
		}
		open, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", d.Type, err)
		}
		if sum(gz) != d.Checksum || int64(len(gz)) != d.Size || sum(open) != d.OpenChecksum || int64(len(open)) != d.OpenSize {
			t.Fatalf("%s: served %d bytes (%d open) that repomd.xml does not describe", d.Type, len(gz), len(open))
		}
		total += int64(len(gz) + len(open))
	}
	return total
}
