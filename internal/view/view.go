// Package view resolves what a repository shows at a branch: for each
// project, its default branch's packages overlaid by the branch's own,
// where a package of the branch hides every default-branch package of the
// same format, name and architecture. It is pure: sorted sets in, sorted set out.
package view

import (
	"slices"
	"sort"
	"strings"

	"github.com/packhouse/packhouse/internal/meta"
)

// Less orders entries by format, name, architecture, version and SHA-256:
// the order of every index, so that equal inputs give equal bytes. Each
// format's entries are one run.
func Less(a, b *meta.Entry) bool { return compare(a, b) < 0 }

func compare(a, b *meta.Entry) int {
	if c := strings.Compare(a.Format, b.Format); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Arch, b.Arch); c != 0 {
		return c
	}
	if c := strings.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	return strings.Compare(a.SHA256, b.SHA256)
}

// Set is a branch's packages, sorted, in blocks: Apply copies only the
// blocks it changes (and the list of blocks), so that a change to a
// branch of 100,000 packages copies a block, not the branch. A Set is
// never changed once made, so that views being built can share it while
// the branch moves on.
type Set struct {
	blocks [][]meta.Entry // each non-empty, in order
	n      int
}

// blockSize is how many entries NewSet puts in a block; Apply splits a
// block that grows to twice that. Tests make it small.
var blockSize = 512

func compareEntries(a, b meta.Entry) int { return compare(&a, &b) }

// NewSet sorts entries into a Set; it takes ownership of the slice.
func NewSet(entries []meta.Entry) *Set {
	slices.SortFunc(entries, compareEntries)
	s := &Set{n: len(entries)}
	for len(entries) > 0 {
		k := min(len(entries), blockSize)
		s.blocks = append(s.blocks, entries[:k:k])
		entries = entries[k:]
	}
	return s
}

// Len is the number of packages in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Entries returns the sorted entries, copied.
func (s *Set) Entries() []meta.Entry {
	if s == nil {
		return nil
	}
	out := make([]meta.Entry, 0, s.n)
	for _, b := range s.blocks {
		out = append(out, b...)
	}
	return out
}

// runs returns the blocks; callers must not change them.
func (s *Set) runs() [][]meta.Entry {
	if s == nil {
		return nil
	}
	return s.blocks
}

// Apply returns the set with the changes of a branch log applied in order.
func (s *Set) Apply(log []meta.LogEntry) *Set {
	out := &Set{blocks: slices.Clone(s.runs()), n: s.Len()}
	own := make([]bool, len(out.blocks)) // blocks copied by this Apply
	for _, l := range log {
		// The first block whose last entry is not below l's; past every
		// block, the last one.
		i := sort.Search(len(out.blocks), func(i int) bool {
			b := out.blocks[i]
			return compare(&b[len(b)-1], &l.Entry) >= 0
		})
		if i == len(out.blocks) {
			if !l.Added {
				continue
			}
			if i == 0 {
				out.blocks, own = append(out.blocks, []meta.Entry{l.Entry}), append(own, true)
				out.n++
				continue
			}
			i--
		}
		b := out.blocks[i]
		j, found := slices.BinarySearchFunc(b, l.Entry, compareEntries)
		if l.Added == found {
			continue
		}
		if !own[i] {
			b, own[i] = slices.Clone(b), true
		}
		if !l.Added {
			out.n--
			if b = slices.Delete(b, j, j+1); len(b) == 0 {
				out.blocks, own = slices.Delete(out.blocks, i, i+1), slices.Delete(own, i, i+1)
				continue
			}
			out.blocks[i] = b
			continue
		}
		out.n++
		b = slices.Insert(b, j, l.Entry)
		if len(b) < 2*blockSize {
			out.blocks[i] = b
			continue
		}
		half := len(b) / 2
		out.blocks[i] = b[:half:half]
		out.blocks, own = slices.Insert(out.blocks, i+1, b[half:]), slices.Insert(own, i+1, true)
	}
	return out
}

// Layer is one project in a view.
type Layer struct {
	Default *Set // the project's default branch; nil if it has none
	Overlay *Set // the view's branch in the project; nil if none
}

// View is the packages a view shows, sorted, as consecutive runs of
// entries shared with the Sets it was resolved from: resolving copies
// nothing, which matters when a view of 100,000 packages with a small
// branch on top is resolved on every publish.
type View [][]meta.Entry

// Len is the number of packages in the view.
func (v View) Len() int {
	n := 0
	for _, run := range v {
		n += len(run)
	}
	return n
}

// All yields the view's packages in order.
func (v View) All() func(yield func(*meta.Entry) bool) {
	return func(yield func(*meta.Entry) bool) {
		for _, run := range v {
			for i := range run {
				if !yield(&run[i]) {
					return
				}
			}
		}
	}
}

// Resolve returns the packages a view shows. Packages of several projects
// may share a name; each project's own rule applies only within that
// project.
func Resolve(layers []Layer) View {
	var sources [][][]meta.Entry
	for _, l := range layers {
		sources = append(sources, hide(l.Default.runs(), l.Overlay), l.Overlay.runs())
	}
	return merge(sources)
}

// hide returns the runs of base that remain once every package with the
// format, name and architecture of one in overlay is taken out. It walks
// overlay once, beside base.
func hide(base [][]meta.Entry, overlay *Set) [][]meta.Entry {
	if overlay.Len() == 0 {
		return base
	}
	var runs [][]meta.Entry
	ov := overlay.runs()
	oi, oj := 0, 0 // overlay's next entry: ov[oi][oj]
	for _, b := range base {
		for len(b) > 0 {
			for oi < len(ov) && compareKey(&ov[oi][oj], &b[0]) < 0 {
				if oj++; oj == len(ov[oi]) {
					oi, oj = oi+1, 0
				}
			}
			if oi == len(ov) || compareKey(&ov[oi][oj], &b[len(b)-1]) > 0 {
				runs = append(runs, b)
				break
			}
			key := &ov[oi][oj]
			lo, _ := slices.BinarySearchFunc(b, key, func(a meta.Entry, k *meta.Entry) int { return compareKey(&a, k) })
			hi := lo
			for hi < len(b) && compareKey(&b[hi], key) == 0 {
				hi++
			}
			if lo > 0 {
				runs = append(runs, b[:lo])
			}
			// The key may go on in the next block: the overlay moves
			// past it only once base has.
			b = b[hi:]
		}
	}
	return runs
}

// compareKey orders by what a branch's package hides: format, name and
// architecture.
func compareKey(a, b *meta.Entry) int {
	if c := strings.Compare(a.Format, b.Format); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Arch, b.Arch)
}

// source is one sorted list of runs being merged, and how far it has got.
type source struct {
	runs     [][]meta.Entry
	run, off int
}

func (s *source) head() *meta.Entry { return &s.runs[s.run][s.off] }

// merge merges sources, each a sorted list of runs, into runs, dropping
// exact duplicates (the same package pushed to two projects is listed
// once). Each step takes, from the source with the smallest head, the
// rest of its run below the other sources' smallest head, found by binary
// search. The sources' runs are not changed.
func merge(lists [][][]meta.Entry) View {
	var srcs []*source
	for _, runs := range lists {
		runs = slices.DeleteFunc(slices.Clone(runs), func(r []meta.Entry) bool { return len(r) == 0 })
		if len(runs) > 0 {
			srcs = append(srcs, &source{runs: runs})
		}
	}
	var out View
	var last *meta.Entry
	emit := func(run []meta.Entry) {
		if last != nil && compare(last, &run[0]) == 0 {
			run = run[1:]
		}
		if len(run) > 0 {
			out = append(out, run)
			last = &run[len(run)-1]
		}
	}
	for len(srcs) > 1 {
		best, next := 0, 1
		if compare(srcs[1].head(), srcs[0].head()) < 0 {
			best, next = 1, 0
		}
		for i := 2; i < len(srcs); i++ {
			switch {
			case compare(srcs[i].head(), srcs[best].head()) < 0:
				best, next = i, best
			case compare(srcs[i].head(), srcs[next].head()) < 0:
				next = i
			}
		}
		b := srcs[best]
		cur := b.runs[b.run][b.off:]
		n, _ := slices.BinarySearchFunc(cur, srcs[next].head(), func(a meta.Entry, h *meta.Entry) int { return compare(&a, h) })
		n = max(n, 1)
		emit(cur[:n])
		if b.off += n; b.off == len(b.runs[b.run]) {
			if b.run, b.off = b.run+1, 0; b.run == len(b.runs) {
				srcs = slices.Delete(srcs, best, best+1)
			}
		}
	}
	if len(srcs) == 1 {
		b := srcs[0]
		emit(b.runs[b.run][b.off:])
		for _, r := range b.runs[b.run+1:] {
			emit(r)
		}
	}
	return out
}
