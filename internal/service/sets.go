package service

import (
	"context"
	"errors"
	"sync"

	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/view"
)

// setCache keeps each branch's package set in memory and brings it up to
// date from the branch's log, so that a publish after one push reads one
// log row, not the whole branch. Several servers may change a branch; the
// database's generation says when a cached set is behind.
type setCache struct {
	mu sync.Mutex
	m  map[int64]*branchSet
}

type branchSet struct {
	mu  sync.Mutex // held while bringing this branch up to date
	gen int64
	set *view.Set
}

func (c *setCache) init() { c.m = map[int64]*branchSet{} }

// get returns the set of ref's branch at generation ref.Gen or later, and
// the generation it is at. A nil ref is an empty set.
func (c *setCache) get(ctx context.Context, m meta.Store, ref *meta.BranchRef) (*view.Set, int64, error) {
	if ref == nil {
		return nil, 0, nil
	}
	c.mu.Lock()
	b := c.m[ref.ID]
	if b == nil {
		b = &branchSet{gen: -1}
		c.m[ref.ID] = b
	}
	c.mu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen >= ref.Gen {
		return b.set, b.gen, nil
	}
	if b.gen >= 0 {
		log, err := m.Log(ctx, ref.ID, b.gen)
		switch {
		case err == nil:
			if len(log) > 0 {
				b.set, b.gen = b.set.Apply(log), log[len(log)-1].Gen
			}
			return b.set, b.gen, nil
		case !errors.Is(err, meta.ErrNotFound):
			return nil, 0, err
		}
	}
	entries, gen, err := m.Entries(ctx, ref.ID)
	if err != nil {
		return nil, 0, err
	}
	b.set, b.gen = view.NewSet(entries), gen
	return b.set, b.gen, nil
}
