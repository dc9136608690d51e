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
	"time"

	"github.com/packhouse/packhouse/internal/blob/fs"
	"github.com/packhouse/packhouse/internal/build"
	"github.com/packhouse/packhouse/internal/debtest"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/meta/metatest"
	"github.com/packhouse/packhouse/internal/meta/sqlite"
	"github.com/packhouse/packhouse/internal/pkgtest"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// newService returns a service on SQLite and a local folder in dir, with
// project "server" (default branch main) in repository "product".
func newService(tb testing.TB, algo sign.Algorithm) *service.Service {
	tb.Helper()
	return newServiceConfig(tb, algo, service.Config{})
}

func newServiceConfig(tb testing.TB, algo sign.Algorithm, cfg service.Config) *service.Service {
	tb.Helper()
	return newServiceOn(tb, algo, cfg, nil)
}

// newServiceOn is newServiceConfig with the metadata store seen through
// wrap, if set.
func newServiceOn(tb testing.TB, algo sign.Algorithm, cfg service.Config, wrap func(meta.Store) meta.Store) *service.Service {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	m, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	key, err := sign.Generate("bench", "", algo, time.Now().Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	var store meta.Store = m
	if wrap != nil {
		store = wrap(m)
	}
	svc := service.New(store, blobs, key, cfg)
	tb.Cleanup(func() { svc.Close(); m.Close() })
	if _, err := svc.CreateProject(ctx, "server", "main", []string{"product"}); err != nil {
		tb.Fatal(err)
	}
	return svc
}

// fill records n packages in the branch directly in the metadata store;
// index builds read metadata only, so their bytes need not exist.
func fill(tb testing.TB, svc *service.Service, n int) {
	ctx := context.Background()
	p, _ := svc.Meta().Project(ctx, "server")
	for start := 0; start < n; start += 5000 {
		var reqs []meta.LinkRequest
		for i := start; i < min(n, start+5000); i++ {
			name := fmt.Sprintf("pkg-%06d", i)
			pk := metatest.Pkg(name, name, "1.0-1", "amd64")
			pk.Control += "\nMaintainer: Bench <bench@example.org>\nDepends: pkg-000001 (>= 1.0)\nDescription: synthetic benchmark package\n Generated for repository benchmarks."
			reqs = append(reqs, meta.LinkRequest{ProjectID: p.ID, Branch: "main", New: pk})
		}
		if _, err := svc.Meta().Link(ctx, reqs); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := svc.Release(ctx, "product", "main"); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPushOneMore is one push of a new version into a branch of N
// packages until its signed Release is published: the server's share of
// "push one more deb until its indexes are served".
func BenchmarkPushOneMore(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		for _, algo := range []sign.Algorithm{sign.RSA3072, sign.Ed25519} {
			b.Run(fmt.Sprintf("%d/%s", n, algo), func(b *testing.B) {
				svc := newService(b, algo)
				fill(b, svc, n)
				ctx := context.Background()
				i := 0
				for b.Loop() {
					i++
					// A new version of a package in the middle of the index.
					deb := debtest.Make(debtest.Spec{Name: fmt.Sprintf("pkg-%06d", n/2), Version: fmt.Sprintf("2.%d", i), Arch: "amd64"})
					if _, err := svc.Push(ctx, service.PushRequest{Project: "server", Branch: "main", Body: bytes.NewReader(deb), Size: int64(len(deb))}); err != nil {
						b.Fatal(err)
					}
					if _, err := svc.Release(ctx, "product", "main"); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPushManyFormats pushes 256 small packages of each format in
// one stream, as a CI push's batch arrives: parsing, hashing, storing and
// linking.
func BenchmarkPushManyFormats(b *testing.B) {
	for _, format := range []string{"deb", "rpm", "archlinux", "apk"} {
		b.Run(format, func(b *testing.B) {
			var bodies [][]byte
			var names []string
			for i := range 256 {
				path := pkgtest.Build(b, pkgtest.Spec{Name: fmt.Sprintf("pkg-%05d", i), Version: "1.0.0"}, format, build.Options{})
				body, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				bodies, names = append(bodies, body), append(names, filepath.Base(path))
			}
			svc := newService(b, sign.Ed25519)
			ctx := context.Background()
			b.ResetTimer()
			for n := range b.N {
				i := 0
				next := func() (service.ManyEntry, error) {
					if i == len(bodies) {
						return service.ManyEntry{}, io.EOF
					}
					sum := sha256.Sum256(bodies[i])
					e := service.ManyEntry{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bodies[i])), Filename: names[i], Body: bytes.NewReader(bodies[i])}
					i++
					return e, nil
				}
				res, err := svc.PushMany(ctx, "server", fmt.Sprint("b", n), false, next)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(bodies)), "µs/pkg")
		})
	}
}
