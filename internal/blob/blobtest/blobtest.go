package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/packhouse/packhouse/internal/blob"
)

// Run runs the suite against stores made by newStore. newStore is called
// once per subtest, possibly from several subtests at once, and must return
// an empty store that no other subtest uses; it should register its own
// clean-up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"CommitGroup", testCommitGroup},
		{"WriterProgress", testWriterProgress},
		{"DigestMismatch", testDigestMismatch},
		{"NothingVisibleBeforeCommit", testNothingVisibleBeforeCommit},
		{"Cancel", testCancel},
		{"CancelAfterCommit", testCancelAfterCommit},
		{"CommitExisting", testCommitExisting},
		{"OpenSeek", testOpenSeek},
		{"NotFound", testNotFound},
		{"List", testList},
		{"ListStopsOnError", testListStopsOnError},
		{"ConcurrentWritersSameBlob", testConcurrentWritersSameBlob},
		{"ConcurrentWritersDistinctBlobs", testConcurrentWritersDistinctBlobs},
		{"LargeStreamed", testLargeStreamed},
		{"ContextCanceled", testContextCanceled},
		{"WriterBoundToCreateContext", testWriterBoundToCreateContext},
		{"ListContextCanceled", testListContextCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// randomBytes is deterministic so that a failure reproduces.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

func digestOf(b []byte) blob.Digest { return blob.Digest(sha256.Sum256(b)) }

func put(t *testing.T, s blob.Store, data []byte) blob.Digest {
	t.Helper()
	d, err := blob.PutBytes(t.Context(), s, data)
	if err != nil {
		t.Fatalf("PutBytes(%d bytes): %v", len(data), err)
	}
	if want := digestOf(data); d != want {
		t.Fatalf("PutBytes returned %s, want %s", d, want)
	}
	return d
}

func read(t *testing.T, s blob.Store, d blob.Digest) []byte {
	t.Helper()
	r, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", d, err)
	}
	return b
}

func list(t *testing.T, s blob.Store) map[blob.Digest]blob.Info {
	t.Helper()
	infos := make(map[blob.Digest]blob.Info)
	err := s.List(t.Context(), func(info blob.Info) error {
		if _, dup := infos[info.Digest]; dup {
			t.Errorf("List reported %s twice", info.Digest)
		}
		infos[info.Digest] = info
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return infos
}

func create(t *testing.T, s blob.Store) blob.Writer {
	t.Helper()
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = w.Cancel(context.Background()) })
	return w
}

func write(t *testing.T, w blob.Writer, data []byte) {
	t.Helper()
	n, err := w.Write(data)
	if err != nil || n != len(data) {
		t.Fatalf("Write(%d bytes) = %d, %v", len(data), n, err)
	}
}

// assertAbsent checks every way a caller could see a blob.
func assertAbsent(t *testing.T, s blob.Store, d blob.Digest) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(%s) error = %v, want ErrNotFound", d, err)
	}
	if r, err := s.Open(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Open(%s) error = %v, want ErrNotFound", d, err)
	}
	if _, ok := list(t, s)[d]; ok {
		t.Errorf("List reports %s", d)
	}
}

func assertStored(t *testing.T, s blob.Store, data []byte) {
	t.Helper()
	d := digestOf(data)
	info, err := s.Stat(t.Context(), d)
	if err != nil {
		t.Fatalf("Stat(%s): %v", d, err)
	}
	if info.Digest != d || info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Errorf("Stat(%s) = %+v, want size %d and a modification time", d, info, len(data))
	}
	if got := read(t, s, d); !bytes.Equal(got, data) {
		t.Errorf("Open(%s) read %d bytes that differ from the %d stored", d, len(got), len(data))
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	sizes := []int{0, 1, 100, 64<<10 + 1, 1<<20 + 7}
	want := make(map[blob.Digest]int64)
	for i, n := range sizes {
		data := randomBytes(uint64(i), n)
		var d blob.Digest
		if i%2 == 0 {
			d = put(t, s, data)
		} else {
			d = digestOf(data)
			if _, err := blob.Put(t.Context(), s, d, bytes.NewReader(data)); err != nil {
				t.Fatalf("Put(%d bytes): %v", n, err)
			}
		}
		assertStored(t, s, data)
		want[d] = int64(n)
	}
	got := list(t, s)
	if len(got) != len(want) {
		t.Errorf("List reported %d blobs, want %d", len(got), len(want))
	}
	for d, size := range want {
		if info, ok := got[d]; !ok || info.Size != size || info.ModTime.IsZero() {
			t.Errorf("List: %s = %+v (present %v), want size %d", d, info, ok, size)
		}
	}
}

func testWriterProgress(t *testing.T, s blob.Store) {
	w := create(t, s)
	if w.Size() != 0 || w.Digest() != digestOf(nil) {
		t.Errorf("new writer: Size %d, Digest %s; want 0 and the digest of nothing", w.Size(), w.Digest())
	}
	write(t, w, []byte("hello "))
	if w.Size() != 6 || w.Digest() != digestOf([]byte("hello ")) {
		t.Errorf("after 6 bytes: Size %d, Digest %s", w.Size(), w.Digest())
	}
	write(t, w, []byte("world"))
	want := digestOf([]byte("hello world"))
	if w.Size() != 11 || w.Digest() != want {
		t.Errorf("after 11 bytes: Size %d, Digest %s, want %s", w.Size(), w.Digest(), want)
	}
	if err := w.Commit(t.Context(), want); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	assertStored(t, s, []byte("hello world"))
}

func testDigestMismatch(t *testing.T, s blob.Store) {
	data := randomBytes(1, 10000)
	for _, wrong := range []blob.Digest{digestOf([]byte("something else")), {}} {
		w := create(t, s)
		write(t, w, data)
		err := w.Commit(t.Context(), wrong)
		if !errors.Is(err, blob.ErrDigestMismatch) {
			t.Fatalf("Commit(%s) error = %v, want ErrDigestMismatch", wrong, err)
		}
		for range 2 {
			if err := w.Cancel(t.Context()); err != nil {
				t.Errorf("Cancel after a failed Commit: %v", err)
			}
		}
		assertAbsent(t, s, wrong)
		assertAbsent(t, s, digestOf(data))
	}
	if n, err := blob.Put(t.Context(), s, digestOf([]byte("x")), bytes.NewReader(data)); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Errorf("Put with a wrong digest = %d, %v; want ErrDigestMismatch", n, err)
	}
	if got := list(t, s); len(got) != 0 {
		t.Errorf("List after failed commits reports %d blobs", len(got))
	}
}

func testNothingVisibleBeforeCommit(t *testing.T, s blob.Store) {
	data := randomBytes(2, 300<<10)
	d := digestOf(data)
	w := create(t, s)
	write(t, w, data)
	assertAbsent(t, s, d)
	if err := w.Commit(t.Context(), d); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	assertStored(t, s, data)
}

func testCancel(t *testing.T, s blob.Store) {
	data := randomBytes(3, 5000)
	d := digestOf(data)
	w := create(t, s)
	write(t, w, data)
	for i := range 2 {
		if err := w.Cancel(t.Context()); err != nil {
			t.Errorf("Cancel #%d: %v", i+1, err)
		}
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("Write after Cancel succeeded")
	}
	if err := w.Commit(t.Context(), d); err == nil {
		t.Error("Commit after Cancel succeeded")
	}
	assertAbsent(t, s, d)
}

func testCancelAfterCommit(t *testing.T, s blob.Store) {
	data := randomBytes(4, 5000)
	w := create(t, s)
	write(t, w, data)
	if err := w.Commit(t.Context(), digestOf(data)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	for i := range 2 {
		if err := w.Cancel(t.Context()); err != nil {
			t.Errorf("Cancel #%d after Commit: %v", i+1, err)
		}
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	assertStored(t, s, data)
}

func testCommitExisting(t *testing.T, s blob.Store) {
	data := randomBytes(5, 70000)
	d := put(t, s, data)
	w := create(t, s)
	write(t, w, data)
	if err := w.Commit(t.Context(), d); err != nil {
		t.Fatalf("committing a blob that is already stored: %v", err)
	}
	if _, err := blob.Put(t.Context(), s, d, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put of a blob that is already stored: %v", err)
	}
	put(t, s, data)
	assertStored(t, s, data)
	if got := list(t, s); len(got) != 1 {
		t.Errorf("List reports %d blobs, want 1", len(got))
	}
}

func testOpenSeek(t *testing.T, s blob.Store) {
	data := randomBytes(6, 10000)
	d := put(t, s, data)
	r, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()

	seek := func(offset int64, whence int, want int64) {
		t.Helper()
		got, err := r.Seek(offset, whence)
		if err != nil || got != want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", offset, whence, got, err, want)
		}
	}
	readN := func(n int, want []byte) {
		t.Helper()
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("reading %d bytes: %v", n, err)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("read %d bytes that differ from the blob's", n)
		}
	}

	seek(1234, io.SeekStart, 1234)
	readN(100, data[1234:1334])
	seek(5, io.SeekCurrent, 1339)
	readN(10, data[1339:1349])
	seek(-50, io.SeekEnd, int64(len(data)-50))
	readN(50, data[len(data)-50:])
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, io.EOF", n, err)
	}
	seek(0, io.SeekStart, 0)
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data) {
		t.Errorf("reading from a seek back to the start: %d bytes, %v", len(rest), err)
	}

	// Range requests for one blob arrive in parallel: readers must not share
	// a position.
	r2, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer r2.Close()
	seek(7000, io.SeekStart, 7000)
	head := make([]byte, 10)
	if _, err := io.ReadFull(r2, head); err != nil || !bytes.Equal(head, data[:10]) {
		t.Errorf("second reader does not start at 0: %v", err)
	}
	readN(10, data[7000:7010])
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := t.Context()
	missing := digestOf([]byte("never stored"))
	assertAbsent(t, s, missing)
	if err := s.Delete(ctx, missing); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete of a missing blob: %v, want ErrNotFound", err)
	}

	data := randomBytes(7, 1000)
	d := put(t, s, data)
	other := put(t, s, randomBytes(8, 1000))
	if err := s.Delete(ctx, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertAbsent(t, s, d)
	if err := s.Delete(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	assertStored(t, s, randomBytes(8, 1000))
	if _, ok := list(t, s)[other]; !ok {
		t.Errorf("Delete of %s removed %s too", d, other)
	}

	put(t, s, data)
	assertStored(t, s, data)
}

func testList(t *testing.T, s blob.Store) {
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("empty store lists %d blobs", len(got))
	}
	want := make(map[blob.Digest]int64)
	for i := range 25 {
		data := randomBytes(uint64(100+i), i*37)
		want[put(t, s, data)] = int64(len(data))
	}
	got := list(t, s)
	if len(got) != len(want) {
		t.Errorf("List reported %d blobs, want %d", len(got), len(want))
	}
	for d, size := range want {
		info, ok := got[d]
		if !ok {
			t.Errorf("List did not report %s", d)
			continue
		}
		stat, err := s.Stat(t.Context(), d)
		if err != nil {
			t.Fatalf("Stat(%s): %v", d, err)
		}
		if info.Size != size || stat.Size != size || info.ModTime.IsZero() {
			t.Errorf("%s: List %+v, Stat %+v, want size %d", d, info, stat, size)
		}
	}
}

func testListStopsOnError(t *testing.T, s blob.Store) {
	for i := range 10 {
		put(t, s, randomBytes(uint64(200+i), 10))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.List(t.Context(), func(blob.Info) error {
		calls++
		if calls == 3 {
			return fmt.Errorf("wrapped: %w", stop)
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("List error = %v, want the callback's", err)
	}
	if calls != 3 {
		t.Errorf("callback called %d times, want 3", calls)
	}
}

func testConcurrentWritersSameBlob(t *testing.T, s blob.Store) {
	const writers = 8
	data := randomBytes(9, 1<<20)
	d := digestOf(data)

	// Every writer has all its bytes written before any commits, so that
	// the commits really race.
	var written, done sync.WaitGroup
	written.Add(writers)
	done.Add(writers)
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			defer done.Done()
			w, err := s.Create(t.Context())
			if err != nil {
				written.Done()
				errs <- err
				return
			}
			defer w.Cancel(context.Background())
			for off := 0; off < len(data); off += 4096 {
				if _, err := w.Write(data[off:min(off+4096, len(data))]); err != nil {
					written.Done()
					errs <- fmt.Errorf("writer %d: %w", i, err)
					return
				}
			}
			written.Done()
			written.Wait()
			if err := w.Commit(t.Context(), d); err != nil {
				errs <- fmt.Errorf("writer %d: Commit: %w", i, err)
			}
		}()
	}
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assertStored(t, s, data)
	if got := list(t, s); len(got) != 1 {
		t.Errorf("List reports %d blobs, want 1", len(got))
	}
}

func testConcurrentWritersDistinctBlobs(t *testing.T, s blob.Store) {
	const writers = 16
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			data := randomBytes(uint64(300+i), 1000+i*4096)
			d, err := blob.PutBytes(t.Context(), s, data)
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
				return
			}
			r, err := s.Open(t.Context(), d)
			if err != nil {
				t.Errorf("writer %d: Open: %v", i, err)
				return
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("writer %d: read back %d bytes, %v", i, len(got), err)
			}
			if i%2 == 1 {
				if err := s.Delete(t.Context(), d); err != nil {
					t.Errorf("writer %d: Delete: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if got := list(t, s); len(got) != writers/2 {
		t.Errorf("List reports %d blobs, want %d", len(got), writers/2)
	}
}

// LargeSize is the size of the blob that testLargeStreamed writes, in small
// pieces, and reads back; stores whose tests measure memory use while
// writing can use it.
func LargeSize() int64 {
	if testing.Short() {
		return 8 << 20
	}
	return 64 << 20
}

// WriteLarge streams size pseudo-random bytes into w in 4 KiB pieces,
// without holding them, and returns their digest.
func WriteLarge(w io.Writer, seed uint64, size int64) (blob.Digest, error) {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	src := rand.NewChaCha8(key)
	h := sha256.New()
	piece := make([]byte, 4096)
	for left := size; left > 0; {
		p := piece[:min(left, int64(len(piece)))]
		_, _ = src.Read(p)
		h.Write(p)
		if _, err := w.Write(p); err != nil {
			return blob.Digest{}, err
		}
		left -= int64(len(p))
	}
	return blob.Digest(h.Sum(nil)), nil
}

func testLargeStreamed(t *testing.T, s blob.Store) {
	size := LargeSize()
	w := create(t, s)
	d, err := WriteLarge(w, 10, size)
	if err != nil {
		t.Fatalf("writing %d bytes: %v", size, err)
	}
	if w.Size() != size || w.Digest() != d {
		t.Errorf("writer reports %d bytes, %s; want %d, %s", w.Size(), w.Digest(), size, d)
	}
	if err := w.Commit(t.Context(), d); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	info, err := s.Stat(t.Context(), d)
	if err != nil || info.Size != size {
		t.Fatalf("Stat = %+v, %v; want size %d", info, err, size)
	}
	r, err := s.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	h := sha256.New()
	if n, err := io.Copy(h, r); err != nil || n != size {
		t.Fatalf("read back %d bytes, %v; want %d", n, err, size)
	}
	if got := blob.Digest(h.Sum(nil)); got != d {
		t.Errorf("read back bytes hashing to %s, want %s", got, d)
	}
}

func testContextCanceled(t *testing.T, s blob.Store) {
	data := randomBytes(11, 1000)
	d := put(t, s, data)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	if w, err := s.Create(canceled); !errors.Is(err, context.Canceled) {
		if err == nil {
			w.Cancel(context.Background())
		}
		t.Errorf("Create: %v, want context.Canceled", err)
	}
	if r, err := s.Open(canceled, d); !errors.Is(err, context.Canceled) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Open: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(canceled, d); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat: %v, want context.Canceled", err)
	}
	if err := s.Delete(canceled, d); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v, want context.Canceled", err)
	}
	if err := s.List(canceled, func(blob.Info) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v, want context.Canceled", err)
	}
	assertStored(t, s, data)

	other := randomBytes(12, 1000)
	w := create(t, s)
	write(t, w, other)
	if err := w.Commit(canceled, digestOf(other)); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit: %v, want context.Canceled", err)
	}
	if err := w.Cancel(context.Background()); err != nil {
		t.Errorf("Cancel after a canceled Commit: %v", err)
	}
	assertAbsent(t, s, digestOf(other))
}

// An upload whose request is gone must stop writing, not fill the disk.
func testWriterBoundToCreateContext(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer w.Cancel(context.Background())
	data := randomBytes(13, 1000)
	write(t, w, data)
	cancel()
	if _, err := w.Write(data); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after the Create context is canceled: %v, want context.Canceled", err)
	}
	if err := w.Cancel(context.Background()); err != nil {
		t.Errorf("Cancel: %v", err)
	}
	assertAbsent(t, s, digestOf(data))
}

func testListContextCanceled(t *testing.T, s blob.Store) {
	for i := range 10 {
		put(t, s, randomBytes(uint64(400+i), 10))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	err := s.List(ctx, func(blob.Info) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List error = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("callback called %d times after the context was canceled, want 1", calls)
	}
}

func testCommitGroup(t *testing.T, s blob.Store) {
	// A store may commit small groups otherwise than large ones.
	for _, more := range []int{0, 40} {
		t.Run(fmt.Sprint(len(groupContents(more))), func(t *testing.T) { commitGroup(t, s, more) })
	}
}

// groupContents are the bodies of a test group with more new blobs: two
// new ones, one stored before the group, one twice in the group, and last
// one committed with a wrong digest.
func groupContents(more int) []string {
	c := []string{fmt.Sprint("first of ", more), fmt.Sprint("second of ", more), "stored before", fmt.Sprint("second of ", more)}
	for i := range more {
		c = append(c, fmt.Sprint("more ", i, " of ", more))
	}
	return append(c, "wrong digest")
}

func commitGroup(t *testing.T, s blob.Store, more int) {
	ctx := context.Background()
	stored, err := blob.PutBytes(ctx, s, []byte("stored before"))
	if err != nil {
		t.Fatal(err)
	}
	contents := groupContents(more)
	last := len(contents) - 1
	ws := make([]blob.Writer, len(contents))
	want := make([]blob.Digest, len(contents))
	for i, c := range contents {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Cancel(ctx)
		w.Write([]byte(c))
		ws[i], want[i] = w, blob.Digest(sha256.Sum256([]byte(c)))
	}
	want[last] = blob.Digest(sha256.Sum256([]byte("something else")))
	errs := blob.CommitGroup(ctx, s, ws, want)
	for i, err := range errs[:last] {
		if err != nil {
			t.Errorf("%q: %v", contents[i], err)
		}
	}
	if !errors.Is(errs[last], blob.ErrDigestMismatch) {
		t.Errorf("wrong digest: %v", errs[last])
	}
	for i, c := range contents[:last] {
		r, err := s.Open(ctx, want[i])
		if err != nil {
			t.Fatalf("%q after the group: %v", c, err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != c {
			t.Errorf("%q reads back %q", c, b)
		}
	}
	if _, err := s.Stat(ctx, want[last]); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("the mismatched blob is stored: %v", err)
	}
	if stored != want[2] {
		t.Fatal("test setup")
	}
	// Every writer is done.
	for i, w := range ws {
		if err := w.Commit(ctx, want[i]); err == nil {
			t.Errorf("writer %d committed again", i)
		}
	}
}
