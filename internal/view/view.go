// Package view resolves what a repository shows at a branch: for each
// project, its default branch's packages overlaid by the branch's own,
// where a package of the branch hides every default-branch package of the
// same format, name and architecture. It is pure: sorted sets in, sorted set out.
package view

import (
	"slices"
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

// Set is a branch's packages, sorted. A Set is never changed once made, so
// that views being built can share it while the branch moves on.
type Set struct {
	entries []meta.Entry
}

// NewSet sorts entries into a Set; it takes ownership of the slice.
func NewSet(entries []meta.Entry) *Set {
	slices.SortFunc(entries, func(a, b meta.Entry) int { return compare(&a, &b) })
	return &Set{entries: entries}
}

// Len is the number of packages in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// Entries returns the sorted entries; callers must not change them.
func (s *Set) Entries() []meta.Entry {
	if s == nil {
		return nil
	}
	return s.entries
}

// Apply returns the set with the changes of a branch log applied in order.
func (s *Set) Apply(log []meta.LogEntry) *Set {
	out := slices.Clone(s.Entries())
	for _, l := range log {
		i, found := slices.BinarySearchFunc(out, l.Entry, func(a, b meta.Entry) int { return compare(&a, &b) })
		switch {
		case l.Added && !found:
			out = slices.Insert(out, i, l.Entry)
		case !l.Added && found:
			out = slices.Delete(out, i, i+1)
		}
	}
	return &Set{entries: out}
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
	var lists [][]meta.Entry
	for _, l := range layers {
		lists = append(lists, hide(l.Default.Entries(), l.Overlay.Entries())...)
		lists = append(lists, l.Overlay.Entries())
	}
	return merge(lists)
}

// hide splits base into the runs that remain once every package with the
// format, name and architecture of one in overlay is taken out.
func hide(base, overlay []meta.Entry) [][]meta.Entry {
	var runs [][]meta.Entry
	for len(overlay) > 0 && len(base) > 0 {
		key := &overlay[0]
		lo, _ := slices.BinarySearchFunc(base, overlay[0], func(a, b meta.Entry) int { return compareKey(&a, &b) })
		hi := lo
		for hi < len(base) && compareKey(&base[hi], key) == 0 {
			hi++
		}
		runs = append(runs, base[:lo])
		base = base[hi:]
		for len(overlay) > 0 && compareKey(&overlay[0], key) == 0 {
			overlay = overlay[1:]
		}
	}
	return append(runs, base)
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

// merge merges sorted lists into runs, dropping exact duplicates (the
// same package pushed to two projects is listed once). Each step takes,
// from the list with the smallest head, everything below the other lists'
// smallest head, found by binary search.
func merge(lists [][]meta.Entry) View {
	lists = slices.DeleteFunc(lists, func(l []meta.Entry) bool { return len(l) == 0 })
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
	for len(lists) > 1 {
		best, next := 0, 1
		if compare(&lists[1][0], &lists[0][0]) < 0 {
			best, next = 1, 0
		}
		for i := 2; i < len(lists); i++ {
			switch {
			case compare(&lists[i][0], &lists[best][0]) < 0:
				best, next = i, best
			case compare(&lists[i][0], &lists[next][0]) < 0:
				next = i
			}
		}
		n, _ := slices.BinarySearchFunc(lists[best], lists[next][0], func(a, b meta.Entry) int { return compare(&a, &b) })
		n = max(n, 1)
		emit(lists[best][:n])
		lists[best] = lists[best][n:]
		if len(lists[best]) == 0 {
			lists = slices.Delete(lists, best, best+1)
		}
	}
	if len(lists) == 1 {
		emit(lists[0])
	}
	return out
}
