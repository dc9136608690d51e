package view

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/packhouse/packhouse/internal/meta"
)

// randomEntry draws from few names, archs and versions, so that keys
// repeat within and across sets.
func randomEntry(r *rand.Rand) meta.Entry {
	x := e(fmt.Sprint("p", r.IntN(40)), fmt.Sprint(r.IntN(4)), []string{"all", "amd64", "arm64"}[r.IntN(3)])
	if r.IntN(4) == 0 {
		x.Format, x.SHA256 = meta.FormatRPM, "rpm"+x.SHA256
	}
	return x
}

func randomEntries(r *rand.Rand, n int) []meta.Entry {
	var out []meta.Entry
	for range n {
		x := randomEntry(r)
		if !slices.ContainsFunc(out, func(y meta.Entry) bool { return compare(&x, &y) == 0 }) {
			out = append(out, x)
		}
	}
	return out
}

// naive is a Set as a sorted slice.
func naiveApply(entries []meta.Entry, log []meta.LogEntry) []meta.Entry {
	out := slices.Clone(entries)
	for _, l := range log {
		i := slices.IndexFunc(out, func(y meta.Entry) bool { return compare(&l.Entry, &y) == 0 })
		switch {
		case l.Added && i < 0:
			out = append(out, l.Entry)
		case !l.Added && i >= 0:
			out = slices.Delete(out, i, i+1)
		}
	}
	slices.SortFunc(out, compareEntries)
	return out
}

func naiveResolve(layers [][2][]meta.Entry) []meta.Entry {
	var out []meta.Entry
	for _, l := range layers {
		for _, d := range l[0] {
			if !slices.ContainsFunc(l[1], func(o meta.Entry) bool { return compareKey(&d, &o) == 0 }) {
				out = append(out, d)
			}
		}
		out = append(out, l[1]...)
	}
	slices.SortFunc(out, compareEntries)
	return slices.CompactFunc(out, func(a, b meta.Entry) bool { return compare(&a, &b) == 0 })
}

func checkSet(t *testing.T, s *Set, want []meta.Entry) {
	t.Helper()
	if got := s.Entries(); !slices.EqualFunc(got, want, func(a, b meta.Entry) bool { return compare(&a, &b) == 0 }) {
		t.Fatalf("set has\n%s\nwant\n%s", names(got), names(want))
	}
	if s.Len() != len(want) {
		t.Fatalf("Len %d, want %d", s.Len(), len(want))
	}
	for _, b := range s.runs() {
		if len(b) == 0 || len(b) >= 2*blockSize {
			t.Fatalf("a block of %d entries", len(b))
		}
	}
}

// Sets in small blocks, changed and resolved at random, against a plain
// sorted slice: the same entries, and the original sets unchanged.
func TestRandomSetsAndViews(t *testing.T) {
	defer func(n int) { blockSize = n }(blockSize)
	blockSize = 3
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 400 {
		nl := 1 + r.IntN(3)
		var layers []Layer
		var naive [][2][]meta.Entry
		for range nl {
			var l Layer
			var nv [2][]meta.Entry
			for k := range 2 {
				if r.IntN(5) == 0 {
					continue // no such branch
				}
				base := randomEntries(r, r.IntN(60))
				set := NewSet(slices.Clone(base))
				before := set.Entries()
				var log []meta.LogEntry
				for range r.IntN(40) {
					log = append(log, meta.LogEntry{Added: r.IntN(3) > 0, Entry: randomEntry(r)})
				}
				changed := set.Apply(log)
				checkSet(t, set, before)
				want := naiveApply(base, log)
				checkSet(t, changed, want)
				nv[k] = want
				if k == 0 {
					l.Default = changed
				} else {
					l.Overlay = changed
				}
			}
			layers, naive = append(layers, l), append(naive, nv)
		}
		var got []meta.Entry
		for x := range Resolve(layers).All() {
			got = append(got, *x)
		}
		if want := naiveResolve(naive); !slices.EqualFunc(got, want, func(a, b meta.Entry) bool { return compare(&a, &b) == 0 }) {
			t.Fatalf("round %d: view\n%s\nwant\n%s", round, names(got), names(want))
		}
	}
}
