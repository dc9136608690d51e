package service_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/blob/fs"
	"github.com/packhouse/packhouse/internal/debtest"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/meta/metatest"
	"github.com/packhouse/packhouse/internal/meta/sqlite"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// newService returns a service on SQLite and a local folder in dir, with
// project "server" (default branch main) in repository "product".
func newService(tb testing.TB, algo sign.Algorithm) *service.Service {
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
	svc := service.New(m, blobs, key, service.Config{})
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
