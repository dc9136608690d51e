package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync/atomic"
	"testing"

	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/service"
	"github.com/packhouse/packhouse/internal/sign"
)

// linkCounter counts the write transactions that link packages.
type linkCounter struct {
	meta.Store
	calls, reqs atomic.Int64
}

func (c *linkCounter) Link(ctx context.Context, reqs []meta.LinkRequest) ([]meta.LinkResult, error) {
	c.calls.Add(1)
	c.reqs.Add(int64(len(reqs)))
	return c.Store.Link(ctx, reqs)
}

// Asking about packages the server lacks takes no write transaction: in
// CI most pushes bring new packages, and many at once would otherwise
// queue behind each other's commits.
func TestPushCheckWritesOnlyToLink(t *testing.T) {
	ctx := context.Background()
	var store *linkCounter
	svc := newServiceOn(t, sign.Ed25519, service.Config{LazyPublish: true}, func(m meta.Store) meta.Store {
		store = &linkCounter{Store: m}
		return store
	})
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	body := rpmBody(t, "pkg", "1.0")
	unknown := sum([]byte("not a package"))

	res, err := svc.PushCheck(ctx, "server", "main", []string{sum(body), unknown}, false)
	if err != nil || res[0].Status != meta.Missing || res[1].Status != meta.Missing {
		t.Fatalf("check of new packages: %+v, %v", res, err)
	}
	if n := store.calls.Load(); n != 0 {
		t.Fatalf("checking new packages linked %d times", n)
	}

	pushAll(t, svc, [][]byte{body})
	calls := store.calls.Load()
	res, err = svc.PushCheck(ctx, "server", "feature/x", []string{unknown, sum(body)}, false)
	if err != nil || res[0].Status != meta.Missing || res[1].Status != meta.Linked {
		t.Fatalf("check of one stored package: %+v, %v", res, err)
	}
	if n, r := store.calls.Load()-calls, store.reqs.Load(); n != 1 || r != 2 {
		t.Fatalf("%d link transactions, %d requests in all; want 1, and the push's 1 + 1", n, r)
	}
	if ps, err := svc.Meta().BranchPackages(ctx, mustProject(t, svc, "server").ID, "feature/x"); err != nil || len(ps) != 1 {
		t.Fatalf("feature/x has %d packages, %v", len(ps), err)
	}
}

func mustProject(t *testing.T, svc *service.Service, name string) meta.Project {
	t.Helper()
	p, err := svc.Meta().Project(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
