package service

import (
	"context"
	"fmt"
	"testing"

	"github.com/packhouse/packhouse/internal/meta"
)

// branchesStore has branches of n packages each, branch i at generation i.
type branchesStore struct {
	meta.Store
	n     int
	reads map[int64]int
}

func (s *branchesStore) Entries(_ context.Context, id int64) ([]meta.Entry, int64, error) {
	s.reads[id]++
	out := make([]meta.Entry, s.n)
	for i := range out {
		out[i] = meta.Entry{PackageID: id*1000 + int64(i), Name: fmt.Sprint("p", i), Version: "1", Arch: "all", Format: meta.FormatDeb}
	}
	return out, id, nil
}

func (s *branchesStore) Log(context.Context, int64, int64) ([]meta.LogEntry, error) {
	return nil, nil
}

// Past its budget the cache drops the sets used least recently, and reads
// a dropped one again whole when it is asked for.
func TestSetCacheBounded(t *testing.T) {
	ctx := context.Background()
	store := &branchesStore{n: 10, reads: map[int64]int{}}
	var c setCache
	c.init()
	c.budget = 100 // ten sets of 10 packages (and one each for the set)

	for id := int64(1); id <= 50; id++ {
		set, gen, err := c.get(ctx, store, &meta.BranchRef{ID: id, Gen: id})
		if err != nil || set.Len() != 10 || gen != id {
			t.Fatalf("branch %d: %d entries at %d, %v", id, set.Len(), gen, err)
		}
		// Branch 1 stays in use.
		if _, _, err := c.get(ctx, store, &meta.BranchRef{ID: 1, Gen: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if c.size > c.budget || len(c.m) != c.lru.Len() || len(c.m) > 10 {
		t.Fatalf("%d entries counted in %d sets (%d listed), budget %d", c.size, len(c.m), c.lru.Len(), c.budget)
	}
	if store.reads[1] != 1 {
		t.Errorf("branch 1, used all along, was read %d times", store.reads[1])
	}
	set, _, err := c.get(ctx, store, &meta.BranchRef{ID: 2, Gen: 2})
	if err != nil || set.Len() != 10 || store.reads[2] != 2 {
		t.Errorf("a dropped set: %d entries, read %d times, %v", set.Len(), store.reads[2], err)
	}
}
