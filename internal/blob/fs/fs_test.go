package fs_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/blob/blobtest"
	"github.com/packhouse/packhouse/internal/blob/fs"
)

func newStore(t testing.TB, root string) *fs.Store {
	t.Helper()
	s, err := fs.New(root)
	if err != nil {
		t.Fatalf("New(%s): %v", root, err)
	}
	return s
}

func TestStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		root := t.TempDir()
		t.Cleanup(func() { assertNoTemps(t, root) })
		return newStore(t, root)
	})
}

// The same suite with named temporary files, as on systems without
// unnamed ones.
func TestStoreNamedTemps(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		root := t.TempDir()
		t.Cleanup(func() { assertNoTemps(t, root) })
		return fs.WithoutUnnamed(newStore(t, root))
	})
}

// Every path through a writer, committed or not, must leave tmp/ empty.
func assertNoTemps(t *testing.T, root string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatalf("reading tmp: %v", err)
	}
	for _, e := range entries {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
}

func TestLayout(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	data := []byte("layout\n")
	d, err := blob.PutBytes(t.Context(), s, data)
	if err != nil {
		t.Fatal(err)
	}
	h := d.String()
	fi, err := os.Stat(filepath.Join(root, "sha256", h[:2], h))
	if err != nil {
		t.Fatalf("blob is not at sha256/%s/%s: %v", h[:2], h, err)
	}
	if fi.Mode().Perm() != 0o444 {
		t.Errorf("blob mode %v, want read-only 0444", fi.Mode().Perm())
	}
	assertNoTemps(t, root)
}

func TestNewRemovesStaleTemps(t *testing.T) {
	root := t.TempDir()
	newStore(t, root)
	tmp := filepath.Join(root, "tmp")
	for _, name := range []string{"put-stale", "put-fresh"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(filepath.Join(tmp, "put-stale"), old, old); err != nil {
		t.Fatal(err)
	}
	newStore(t, root)
	var names []string
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"put-fresh"}) {
		t.Errorf("tmp holds %v after New, want only the fresh file", names)
	}
}

func TestListSkipsStrayFiles(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	d, err := blob.PutBytes(t.Context(), s, []byte("real"))
	if err != nil {
		t.Fatal(err)
	}
	h := d.String()
	upper := []byte(h)
	for i, c := range upper {
		if c >= 'a' && c <= 'f' {
			upper[i] = c - 'a' + 'A'
		}
	}
	wrongDir := "00"
	if h[:2] == wrongDir {
		wrongDir = "11"
	}
	stray := []string{
		filepath.Join("sha256", h[:2], "notes.txt"),
		filepath.Join("sha256", h[:2], string(upper)),
		filepath.Join("sha256", wrongDir, h),
		filepath.Join("sha256", "README"),
		filepath.Join("tmp", h),
	}
	for _, p := range stray {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("stray"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []blob.Digest
	if err := s.List(t.Context(), func(info blob.Info) error {
		got = append(got, info.Digest)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != d {
		t.Errorf("List = %v, want only %s", got, d)
	}
}

// The store must stream: writing a large blob allocates about its write
// buffer, not the blob.
func TestLargeBlobNotBuffered(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Cancel(context.Background())
	size := blobtest.LargeSize()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, err := blobtest.WriteLarge(w, 1, size)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	const limit = 2 << 20
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
		t.Errorf("writing %d MiB allocated %d KiB, want at most %d KiB", size>>20, alloc>>10, limit>>10)
	}
	info, err := s.Stat(t.Context(), d)
	if err != nil || info.Size != size {
		t.Errorf("Stat = %+v, %v", info, err)
	}
}

func TestCommitExistingKeepsFileAndRefreshesTime(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	data := []byte("stored twice")
	d, err := blob.PutBytes(t.Context(), s, data)
	if err != nil {
		t.Fatal(err)
	}
	h := d.String()
	p := filepath.Join(root, "sha256", h[:2], h)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("committing a stored blob replaced its file")
	}
	if !after.ModTime().After(old.Add(time.Hour)) {
		t.Errorf("ModTime %v not refreshed", after.ModTime())
	}
	assertNoTemps(t, root)
	if b, err := io.ReadAll(r); err != nil || string(b) != string(data) {
		t.Errorf("reader opened before the second commit read %q, %v", b, err)
	}
}

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := newStore(b, b.TempDir())
			data := make([]byte, size)
			_, _ = rand.NewChaCha8([32]byte{}).Read(data)
			const piece = 32 << 10
			b.SetBytes(int64(size))
			i := uint64(0)
			for b.Loop() {
				// Distinct bytes each time, so that every commit is a new blob.
				i++
				binary.LittleEndian.PutUint64(data, i)
				w, err := s.Create(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < size; off += piece {
					if _, err := w.Write(data[off:min(off+piece, size)]); err != nil {
						b.Fatal(err)
					}
				}
				d := w.Digest()
				if err := w.Commit(b.Context(), d); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Delete(b.Context(), d); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCommitGroup commits groups of small new blobs, as a push of
// that many packages does: per group, not per blob.
func BenchmarkCommitGroup(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := newStore(b, b.TempDir())
			data := make([]byte, 8<<10)
			_, _ = rand.NewChaCha8([32]byte{}).Read(data)
			i := uint64(0)
			for b.Loop() {
				ws := make([]blob.Writer, n)
				want := make([]blob.Digest, n)
				for k := range ws {
					i++
					binary.LittleEndian.PutUint64(data, i)
					w, err := s.Create(b.Context())
					if err != nil {
						b.Fatal(err)
					}
					w.Write(data)
					ws[k], want[k] = w, w.Digest()
				}
				for k, err := range blob.CommitGroup(b.Context(), s, ws, want) {
					if err != nil {
						b.Fatal(k, err)
					}
				}
			}
		})
	}
}
