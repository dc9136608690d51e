package push

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeOld writes a file whose mtime is an hour back, outside the window in
// which the cache refuses to remember a hash.
func writeOld(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func hashOne(t *testing.T, path string, c *Cache) FileHash {
	t.Helper()
	h := HashFiles(t.Context(), []string{path}, 1, c, nil)[0]
	if h.Err != nil {
		t.Fatal(h.Err)
	}
	return h
}

func TestCacheHitAndInvalidation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.deb")
	writeOld(t, path, []byte("version one"))
	cachePath := filepath.Join(dir, "cache", "hashes")

	c, err := LoadCache(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	if h := hashOne(t, path, c); h.Cached || h.SHA256 != sha256.Sum256([]byte("version one")) {
		t.Fatalf("first hash: %+v", h)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}

	// A new process: the hash comes from the file.
	c, err = LoadCache(cachePath)
	if err != nil || c.Len() != 1 {
		t.Fatalf("reloaded %d entries, %v", c.Len(), err)
	}
	if h := hashOne(t, path, c); !h.Cached || h.SHA256 != sha256.Sum256([]byte("version one")) || h.Size != 11 {
		t.Fatalf("second hash not from the cache: %+v", h)
	}

	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"mtime", func() {
			tm := time.Now().Add(-30 * time.Minute)
			os.Chtimes(path, tm, tm)
		}, "version one"},
		{"size", func() { writeOld(t, path, []byte("version three!")) }, "version three!"},
		{"content, same size and mtime, new inode", func() {
			fi, _ := os.Stat(path)
			tmp := path + ".new"
			os.WriteFile(tmp, []byte("version four!!"), 0o644)
			os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
			os.Rename(tmp, path)
		}, "version four!!"},
	}
	for _, s := range steps {
		s.change()
		if h := hashOne(t, path, c); h.Cached || h.SHA256 != sha256.Sum256([]byte(s.want)) {
			t.Errorf("after changing %s: cached %v, sum %x", s.name, h.Cached, h.SHA256)
		}
		if h := hashOne(t, path, c); !h.Cached {
			t.Errorf("after changing %s: the new hash was not remembered", s.name)
		}
	}
}

func TestCacheSkipsRecentlyModified(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fresh.rpm")
	if err := os.WriteFile(path, []byte("just built"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := LoadCache(filepath.Join(dir, "hashes"))
	hashOne(t, path, c)
	if h := hashOne(t, path, c); h.Cached {
		t.Error("a file modified within the racy window was cached")
	}
}

func TestCacheCorruptIsIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.deb")
	writeOld(t, path, []byte("x"))
	cachePath := filepath.Join(dir, "hashes")
	c, _ := LoadCache(cachePath)
	hashOne(t, path, c)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(cachePath)

	for name, data := range map[string][]byte{
		"empty":     {},
		"garbage":   []byte("not a cache at all, not at all"),
		"truncated": good[:len(good)-10],
		"bit flip":  append(append([]byte{}, good[:20]...), append([]byte{good[20] ^ 1}, good[21:]...)...),
		"version":   append([]byte("PHHASH\x00\x09"), good[8:]...),
	} {
		if err := os.WriteFile(cachePath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCache(cachePath)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if c == nil || c.Len() != 0 {
			t.Fatalf("%s: cache not empty and usable", name)
		}
		if h := hashOne(t, path, c); h.Cached {
			t.Errorf("%s: hit in a corrupt cache", name)
		}
		if err := c.Save(); err != nil {
			t.Errorf("%s: saving over a corrupt cache: %v", name, err)
		}
		if _, err := LoadCache(cachePath); err != nil {
			t.Errorf("%s: the cache written over it does not load: %v", name, err)
		}
	}
}

func TestCachePrunesGoneAndChangedFiles(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 4 {
		p := filepath.Join(dir, fmt.Sprintf("f%d.deb", i))
		writeOld(t, p, []byte{byte(i)})
		paths = append(paths, p)
	}
	cachePath := filepath.Join(dir, "hashes")
	c, _ := LoadCache(cachePath)
	HashFiles(t.Context(), paths, 2, c, nil)
	c.pruned = 0 // long ago: the next Save checks every entry
	os.Remove(paths[0])
	writeOld(t, paths[1], []byte("changed"))
	c.start = time.Now().Add(time.Hour) // no entry counts as used by this run
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCache(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 {
		t.Errorf("%d entries after pruning, want 2", c.Len())
	}
	for _, p := range paths[2:] {
		if _, ok := c.findLocked(p); !ok {
			t.Errorf("%s was dropped", p)
		}
	}
}

func TestCacheBounded(t *testing.T) {
	dir := t.TempDir()
	c, _ := LoadCache(filepath.Join(dir, "hashes"))
	c.SetMaxEntries(100)
	for i := range 300 {
		c.added[fmt.Sprintf("/p/%04d", i)] = cacheEntry{used: int64(i)}
	}
	c.dirty = true
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 100 {
		t.Fatalf("%d entries, want 100", c.Len())
	}
	if _, ok := c.findLocked("/p/0299"); !ok {
		t.Error("the most recently used entry was dropped")
	}
	if _, ok := c.findLocked("/p/0199"); ok {
		t.Error("a less recently used entry was kept")
	}
	if i, ok := c.findLocked("/p/0200"); !ok || i != 0 {
		t.Error("the entries kept are not the 100 most recent, in path order")
	}
}

// syntheticRecords looks like a CI runner's build directories.
func syntheticRecords(n int) []cacheRecord {
	recs := make([]cacheRecord, n)
	for i := range recs {
		p := fmt.Sprintf("/builds/acme/server/dist/%s/server-component-%05d_24.08.%d-1_amd64.deb", []string{"debian", "el9", "alpine"}[i%3], i, i%50)
		recs[i] = cacheRecord{p, cacheEntry{size: int64(i) * 1000, mtime: 1722500000_000000000 + int64(i), ino: uint64(1_000_000 + i), dev: 2049, used: 1722500000, sum: sha256.Sum256([]byte(p))}}
	}
	slices.SortFunc(recs, func(a, b cacheRecord) int { return strings.Compare(a.path, b.path) })
	return recs
}

func TestCacheEncodingRoundTrip(t *testing.T) {
	want := syntheticRecords(1000)
	data := encodeCache(want, 12345)
	got, err := decodeCache(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.pruned != 12345 || !slices.Equal(got.recs, want) || !got.clean || got.frames != 0 {
		t.Fatalf("pruned %d, clean %v, %d in frames, records differ", got.pruned, got.clean, got.frames)
	}
	t.Logf("%d entries in %d bytes, %d per entry", len(want), len(data), len(data)/len(want))
}

// FuzzDecodeCache fuzzes what is under the checksum: the fuzzer's bytes
// get a valid CRC appended, or almost nothing would get past it.
func FuzzDecodeCache(f *testing.F) {
	withCRC := func(body []byte) []byte {
		return binary.LittleEndian.AppendUint32(slices.Clip(body), crc32.Checksum(body, crcTable))
	}
	good := encodeCache(syntheticRecords(3), 1)
	f.Add(good[:len(good)-4])
	f.Add([]byte("PHHASH\x00\x01"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeCache(withCRC(body))
		if err != nil {
			return
		}
		recs, pruned := got.recs, got.pruned
		for i := 1; i < len(recs); i++ {
			if recs[i-1].path >= recs[i].path {
				t.Fatalf("decoded records out of order: %q, %q", recs[i-1].path, recs[i].path)
			}
		}
		again, err := decodeCache(encodeCache(recs, pruned))
		if err != nil || again.pruned != pruned || !slices.Equal(again.recs, recs) {
			t.Fatalf("re-encoding a decoded cache: %v", err)
		}
	})
}

// FuzzDecodeFrames fuzzes update frames after a good base: the fuzzer's
// bytes get a valid CRC appended, as in FuzzDecodeCache. A bad frame may
// make the file unclean, never unreadable.
func FuzzDecodeFrames(f *testing.F) {
	base := encodeCache(syntheticRecords(3), 1)
	frame := encodeFrame(map[string]cacheEntry{"/builds/x.deb": {size: 1, used: 2}})
	f.Add(frame[:len(frame)-4])
	f.Add([]byte("U\x00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		frame := binary.LittleEndian.AppendUint32(slices.Clip(body), crc32.Checksum(body, crcTable))
		got, err := decodeCache(append(slices.Clip(base), frame...))
		if err != nil {
			t.Fatalf("a good base with a bad frame after it: %v", err)
		}
		if len(got.recs) < 3 {
			t.Fatalf("%d records, fewer than the base's", len(got.recs))
		}
		for i := 1; i < len(got.recs); i++ {
			if got.recs[i-1].path >= got.recs[i].path {
				t.Fatalf("records out of order: %q, %q", got.recs[i-1].path, got.recs[i].path)
			}
		}
		if !got.clean {
			return
		}
		again, err := decodeCache(encodeCache(got.recs, got.pruned))
		if err != nil || !slices.Equal(again.recs, got.recs) {
			t.Fatalf("re-encoding a decoded cache: %v", err)
		}
	})
}

// BenchmarkLoadCache measures what every push pays before it starts.
func BenchmarkLoadCache(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "hashes")
			if err := os.WriteFile(path, encodeCache(syntheticRecords(n), time.Now().Unix()), 0o600); err != nil {
				b.Fatal(err)
			}
			fi, _ := os.Stat(path)
			b.SetBytes(fi.Size())
			for b.Loop() {
				if _, err := LoadCache(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSaveCache includes the daily check of every entry against the
// disk, the worst case of a Save.
func BenchmarkSaveCache(b *testing.B) {
	for _, prune := range []bool{false, true} {
		b.Run(fmt.Sprintf("prune=%v", prune), func(b *testing.B) {
			dir := b.TempDir()
			c, _ := LoadCache(filepath.Join(dir, "hashes"))
			c.loaded = syntheticRecords(100_000)
			for b.Loop() {
				c.dirty = true
				if prune {
					b.StopTimer()
					c.pruned = 0
					c.loaded = syntheticRecords(100_000)
					b.StartTimer()
				}
				if err := c.Save(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeCache(b *testing.B) {
	data := encodeCache(syntheticRecords(100_000), 1)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decodeCache(data); err != nil {
			b.Fatal(err)
		}
	}
}

// A push of a few files into a large cache appends a frame, which the
// next load applies; past the bound, the cache is written whole again.
func TestCacheAppendsUpdates(t *testing.T) {
	dir := t.TempDir()
	cachePath := filepath.Join(dir, "hashes")
	c, _ := LoadCache(cachePath)
	c.loaded = syntheticRecords(1000)
	c.dirty = true
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	base, _ := os.ReadFile(cachePath)

	var paths []string
	for i := range 500 {
		p := filepath.Join(dir, fmt.Sprintf("new-%03d.deb", i))
		writeOld(t, p, []byte{byte(i)})
		paths = append(paths, p)
	}
	folded := -1 // the push that wrote the file whole again
	prev := len(base)
	for i, p := range paths {
		c, err := LoadCache(cachePath)
		if err != nil {
			t.Fatal(err)
		}
		hashOne(t, p, c)
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(cachePath)
		switch grew := len(data) - prev; {
		case grew < 0 && folded < 0:
			folded, base = i, data
		case grew <= 0 || grew > 200 || !bytes.HasPrefix(data, base):
			t.Fatalf("push %d: the file went from %d to %d bytes, not one entry's frame more after the same base", i, prev, len(data))
		}
		prev = len(data)
	}
	// The bound: frames of up to 256 entries and an eighth of the base.
	if want := 256 + 1000/8; folded < want || folded > want+100 {
		t.Fatalf("frames folded into the base at push %d, want about %d", folded, want)
	}
	c, err := LoadCache(cachePath)
	if err != nil || c.Len() != 1500 {
		t.Fatalf("%d entries, %v; want 1500", c.Len(), err)
	}
	for _, p := range paths {
		if h := hashOne(t, p, c); !h.Cached {
			t.Fatalf("%s: not cached", p)
		}
	}
}

// Two pushes that loaded the same cache both keep what they stored; a
// frame cut short is dropped, with what follows it, and the next Save
// writes the file whole.
func TestCacheFramesConcurrentAndTorn(t *testing.T) {
	cachePath, a, b := syntheticCache(t, 10)
	ca, _ := LoadCache(cachePath)
	cb, _ := LoadCache(cachePath)
	hashOne(t, a, ca)
	hashOne(t, b, cb)
	if err := ca.Save(); err != nil {
		t.Fatal(err)
	}
	if err := cb.Save(); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCache(cachePath)
	if err != nil || c.Len() != 12 || c.whole {
		t.Fatalf("after two appends: %d entries, whole %v, %v", c.Len(), c.whole, err)
	}

	data, _ := os.ReadFile(cachePath)
	if err := os.WriteFile(cachePath, data[:len(data)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = LoadCache(cachePath)
	if err != nil || c.Len() != 11 || !c.whole {
		t.Fatalf("with the last frame cut: %d entries, whole %v, %v", c.Len(), c.whole, err)
	}
	if h := hashOne(t, b, c); h.Cached {
		t.Error("the entry of the cut frame was used")
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := decodeCache(must(os.ReadFile(cachePath)))
	if err != nil || !got.clean || got.frames != 0 || len(got.recs) != 12 {
		t.Fatalf("written whole: clean %v, %d in frames, %d records, %v", got.clean, got.frames, len(got.recs), err)
	}
}

// Files of the first version, which had no frames, are read; the next
// Save writes the current version.
func TestCacheReadsVersion1(t *testing.T) {
	want := syntheticRecords(5)
	v2 := encodeCache(want, 7)
	body := append(slices.Clip(cacheMagicV1), v2[len(cacheMagic):len(v2)-4]...)
	v1 := binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crcTable))
	got, err := decodeCache(v1)
	if err != nil || !slices.Equal(got.recs, want) || got.clean {
		t.Fatalf("version 1: clean %v, %v", got.clean, err)
	}
	if _, err := decodeCache(append(slices.Clip(v1), encodeFrame(map[string]cacheEntry{"/x": {}})...)); err == nil {
		t.Error("a version 1 file with bytes after its checksum was read")
	}
}

// syntheticCache saves a cache of n synthetic records, and writes two old
// files, a and b, beside it.
func syntheticCache(t *testing.T, n int) (cachePath, a, b string) {
	t.Helper()
	dir := t.TempDir()
	cachePath = filepath.Join(dir, "hashes")
	a, b = filepath.Join(dir, "a.deb"), filepath.Join(dir, "b.deb")
	writeOld(t, a, []byte("a"))
	writeOld(t, b, []byte("b"))
	c, _ := LoadCache(cachePath)
	c.loaded = syntheticRecords(n)
	c.dirty = true
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	return cachePath, a, b
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A push looks up its files in one walk of the cache file, decoding no
// other record; the records of later frames win, and what it did not look
// for is still found.
func TestCacheLooksUpWithoutDecoding(t *testing.T) {
	cachePath, a, b := syntheticCache(t, 1000)
	c, _ := LoadCache(cachePath)
	hashOne(t, a, c)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	writeOld(t, a, []byte("a changed")) // its entry no longer matches
	c, _ = LoadCache(cachePath)
	hashOne(t, a, c) // stored again, in a frame
	hashOne(t, b, c)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}

	c, err := LoadCache(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	got := HashFiles(t.Context(), []string{a, b}, 1, c, nil)
	if !got[0].Cached || !got[1].Cached || got[0].SHA256 != sha256.Sum256([]byte("a changed")) {
		t.Fatalf("cached %v %v, a's hash %x", got[0].Cached, got[1].Cached, got[0].SHA256)
	}
	if c.parsed {
		t.Error("the lookup of two files decoded the whole cache")
	}
	if n := c.Len(); n != 1002 {
		t.Errorf("%d entries, want 1002", n)
	}
	if _, ok := c.findLocked(syntheticRecords(1)[0].path); !ok {
		t.Error("an entry not looked up first is not found")
	}
}
