package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/pkgtest"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// rpmBodies builds n small rpms, pkg-00001 to pkg-N.
func rpmBodies(b testing.TB, n int) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		body, err := os.ReadFile(pkgtest.Build(b, pkgtest.Spec{Name: fmt.Sprintf("pkg-%05d", i+1), Version: "1.0.0"}, "rpm", build.Options{}))
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = body
	}
	return bodies
}

// pushAll pushes bodies to server/main in one batch.
func pushAll(b testing.TB, svc *service.Service, bodies [][]byte) {
	i := 0
	next := func() (service.ManyEntry, error) {
		if i == len(bodies) {
			return service.ManyEntry{}, io.EOF
		}
		sum := sha256.Sum256(bodies[i])
		e := service.ManyEntry{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bodies[i])), Filename: fmt.Sprint(i, ".rpm"), Body: bytes.NewReader(bodies[i])}
		i++
		return e, nil
	}
	res, err := svc.PushMany(context.Background(), "server", "main", false, next)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

func repomd(b *testing.B, svc *service.Service) {
	if _, _, err := svc.RPMFile(context.Background(), "product", "main", "repodata/repomd.xml"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPublishRPM is a branch's first signed rpm-md, from the stored
// metadata of 2,000 rpms: the server's share of rpm-bench.sh's "repodata
// from nothing".
func BenchmarkPublishRPM(b *testing.B) {
	bodies := rpmBodies(b, 2000)
	for b.Loop() {
		b.StopTimer()
		svc := newService(b, sign.RSA3072)
		pushAll(b, svc, bodies)
		b.StartTimer()
		repomd(b, svc)
	}
}

// BenchmarkPushOneMoreRPM is one push of a new rpm version into a branch
// of 2,000 rpms until its signed repomd.xml is published: the server's
// share of rpm-bench.sh's "one more rpm".
func BenchmarkPushOneMoreRPM(b *testing.B) {
	bodies := rpmBodies(b, 2000)
	for _, algo := range []sign.Algorithm{sign.RSA3072, sign.Ed25519} {
		b.Run(string(algo), func(b *testing.B) {
			svc := newService(b, algo)
			pushAll(b, svc, bodies)
			repomd(b, svc)
			k := 0
			for b.Loop() {
				b.StopTimer()
				k++
				path := pkgtest.Build(b, pkgtest.Spec{Name: "pkg-01000", Version: fmt.Sprintf("2.%d", k)}, "rpm", build.Options{})
				body, _ := os.ReadFile(path)
				b.StartTimer()
				if _, err := svc.Push(context.Background(), service.PushRequest{Project: "server", Branch: "main", Filename: filepath.Base(path), Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
					b.Fatal(err)
				}
				repomd(b, svc)
			}
		})
	}
}
