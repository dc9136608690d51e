package service

import (
	"container/list"
	"context"
	"errors"
	"sync"

	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/view"
)

// setCache keeps branches' package sets in memory and brings each up to
// date from the branch's log, so that a publish after one push reads one
// log row, not the whole branch. Several servers may change a branch; the
// database's generation says when a cached set is behind. The sets used
// least recently are dropped past a budget of entries, so that a server
// that has served thousands of branches, deleted ones among them, does not
// keep them all; a dropped set is read again whole when next needed.
type setCache struct {
	mu     sync.Mutex
	budget int // entries
	size   int
	lru    *list.List // front: most recent; values *branchSet
	m      map[int64]*list.Element
}

type branchSet struct {
	id  int64
	mu  sync.Mutex // held while bringing this branch up to date
	gen int64
	set *view.Set
	// counted is what size holds for this set (under setCache.mu).
	counted int
}

// setCacheEntries bounds the entries of the cached sets: a few hundred
// bytes each, so some hundreds of megabytes at most.
const setCacheEntries = 1 << 20

func (c *setCache) init() {
	c.budget, c.lru, c.m = setCacheEntries, list.New(), map[int64]*list.Element{}
}

// account records a set's new size and drops the least recently used
// sets while the budget is exceeded, never b itself.
func (c *setCache) account(b *branchSet, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[b.id]; !ok || e.Value != b {
		return // dropped meanwhile
	}
	c.size += n - b.counted
	b.counted = n
	for c.size > c.budget && c.lru.Len() > 1 {
		last := c.lru.Back()
		old := last.Value.(*branchSet)
		if old == b {
			c.lru.MoveToFront(last)
			continue
		}
		c.size -= old.counted
		c.lru.Remove(last)
		delete(c.m, old.id)
	}
}

// get returns the set of ref's branch at generation ref.Gen or later, and
// the generation it is at. A nil ref is an empty set.
func (c *setCache) get(ctx context.Context, m meta.Store, ref *meta.BranchRef) (*view.Set, int64, error) {
	if ref == nil {
		return nil, 0, nil
	}
	c.mu.Lock()
	var b *branchSet
	if e, ok := c.m[ref.ID]; ok {
		b = e.Value.(*branchSet)
		c.lru.MoveToFront(e)
	} else {
		b = &branchSet{id: ref.ID, gen: -1}
		c.m[ref.ID] = c.lru.PushFront(b)
	}
	c.mu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen >= ref.Gen {
		return b.set, b.gen, nil
	}
	defer func() { c.account(b, b.set.Len()+1) }() // +1: an empty set costs too
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
