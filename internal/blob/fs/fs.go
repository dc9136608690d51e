package fs

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/packhouse/packhouse/internal/blob"
)

const (
	blobDir = "sha256"
	tmpDir  = "tmp"

	// writeBufferSize keeps writes to the temporary file large whatever
	// pieces the caller writes in (an HTTP body arrives in a few KiB at a
	// time), and small enough that a group of writers held open until a
	// group commit (256 of them) costs 16 MiB, not 64.
	writeBufferSize = 64 << 10

	// staleTempAge is far longer than any upload takes, so that a temporary
	// file this old belongs to a process that died.
	staleTempAge = 24 * time.Hour

	blobMode = 0o444
)

var errWriterDone = errors.New("blob writer already committed or canceled")

// Store is a blob.Store in a local directory. It is safe for concurrent use,
// also by several processes sharing the directory.
type Store struct {
	root string
	// unnamed is set where the filesystem makes unnamed temporary files
	// (Linux, O_TMPFILE, and /proc to name them by).
	unnamed bool
}

var _ blob.Store = (*Store)(nil)

// New opens the store in root, creating the directory if needed, and removes
// temporary files that interrupted writes left behind more than a day ago.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("blob store: empty root directory")
	}
	s := &Store{root: filepath.Clean(root)}
	_, err := os.Stat(s.root)
	created := errors.Is(err, iofs.ErrNotExist)
	if err := os.MkdirAll(filepath.Join(s.root, blobDir), 0o755); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(s.root, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	// Commits sync only the directories below the root, so the root and
	// its entry in its parent must be durable first.
	dirs := []string{s.root}
	if created {
		dirs = append(dirs, filepath.Dir(s.root))
	}
	for _, dir := range dirs {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("blob store: %w", err)
		}
	}
	if err := s.removeStaleTemps(time.Now().Add(-staleTempAge)); err != nil {
		return nil, fmt.Errorf("blob store: %w", err)
	}
	s.unnamed = s.probeUnnamed()
	return s, nil
}

func (s *Store) removeStaleTemps(before time.Time) error {
	dir := filepath.Join(s.root, tmpDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, iofs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.ModTime().Before(before) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func (s *Store) path(d blob.Digest) string {
	h := d.String()
	return filepath.Join(s.root, blobDir, h[:2], h)
}

func notFound(d blob.Digest, err error) error {
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, d)
	}
	return err
}

// Create starts a new blob in a temporary file. The writer stops accepting
// bytes once ctx is done.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.unnamed {
		if f, err := createUnnamed(filepath.Join(s.root, tmpDir)); err == nil {
			return s.newWriter(ctx, f, ""), nil
		}
	}
	f, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "put-*")
	if err != nil {
		return nil, err
	}
	return s.newWriter(ctx, f, f.Name()), nil
}

// probeUnnamed reports whether unnamed temporary files can be made and
// named here.
func (s *Store) probeUnnamed() bool {
	f, err := createUnnamed(filepath.Join(s.root, tmpDir))
	if err != nil {
		return false
	}
	defer f.Close()
	probe := filepath.Join(s.root, tmpDir, fmt.Sprintf("probe-%d", os.Getpid()))
	os.Remove(probe)
	if err := linkUnnamed(f, probe); err != nil {
		return false
	}
	return os.Remove(probe) == nil
}

func (s *Store) newWriter(ctx context.Context, f *os.File, temp string) *writer {
	return &writer{
		s:    s,
		ctx:  ctx,
		f:    f,
		temp: temp,
		buf:  bufio.NewWriterSize(f, writeBufferSize),
		h:    sha256.New(),
	}
}

// Open returns the blob's file. It stays readable to the end even if the
// blob is deleted meanwhile.
func (s *Store) Open(ctx context.Context, d blob.Digest) (io.ReadSeekCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(d))
	if err != nil {
		return nil, notFound(d, err)
	}
	return f, nil
}

// Stat describes the blob. ModTime is the last time the blob was committed.
func (s *Store) Stat(ctx context.Context, d blob.Digest) (blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(s.path(d))
	if err != nil {
		return blob.Info{}, notFound(d, err)
	}
	return blob.Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the blob durably.
func (s *Store) Delete(ctx context.Context, d blob.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(d)
	if err := os.Remove(p); err != nil {
		return notFound(d, err)
	}
	return syncDir(filepath.Dir(p))
}

// List walks the blob directories. Blobs committed or deleted while it runs
// may or may not be reported; files that are not blobs are skipped.
func (s *Store) List(ctx context.Context, fn func(blob.Info) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	top := filepath.Join(s.root, blobDir)
	prefixes, err := os.ReadDir(top)
	if err != nil {
		return err
	}
	for _, prefix := range prefixes {
		if !prefix.IsDir() || len(prefix.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(top, prefix.Name()))
		if err != nil {
			return err
		}
		for _, e := range entries {
			d, err := blob.ParseDigest(e.Name())
			if err != nil || d.String() != e.Name() || e.Name()[:2] != prefix.Name() || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, iofs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(blob.Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// writer is not safe for concurrent use.
type writer struct {
	s    *Store
	ctx  context.Context
	f    *os.File // nil once closed
	temp string   // "" once renamed or removed
	buf  *bufio.Writer
	h    hash.Hash
	n    int64
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errWriterDone
	}
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.buf.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *writer) Size() int64 { return w.n }

func (w *writer) Digest() blob.Digest { return blob.Digest(w.h.Sum(nil)) }

// Commit verifies the digest, makes the file durable and read-only, and
// renames it into place. However it ends, the writer is done.
func (w *writer) Commit(ctx context.Context, want blob.Digest) error {
	if w.done {
		return errWriterDone
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.done = true
	err := w.commit(want)
	if derr := w.discard(); err == nil {
		err = derr
	}
	return err
}

func (w *writer) commit(want blob.Digest) error {
	target, stored, err := w.prepare(want)
	if err != nil {
		return err
	}
	if stored {
		// The first commit of this blob may have failed to sync its
		// directory after the rename; this one must not claim more.
		return syncDir(filepath.Dir(target))
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	return w.place(target, true)
}

// prepare flushes what is buffered, checks the digest, and makes the file
// read-only. stored says the blob is already there and w is not needed.
func (w *writer) prepare(want blob.Digest) (target string, stored bool, err error) {
	if err := w.buf.Flush(); err != nil {
		return "", false, err
	}
	if got := w.Digest(); got != want {
		return "", false, fmt.Errorf("%w: wrote %s, want %s", blob.ErrDigestMismatch, got, want)
	}
	target = w.s.path(want)
	if stored, err := refresh(target); err != nil || stored {
		return target, stored, err
	}
	return target, false, w.f.Chmod(blobMode)
}

// place gives the (synced) file its name and closes it; sync says whether
// to sync its folder now or leave that to the caller.
func (w *writer) place(target string, sync bool) error {
	f := w.f
	w.f = nil
	if w.temp == "" {
		err := placeUnnamed(f, target, sync)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := place(w.temp, target, sync); err != nil {
		return err
	}
	w.temp = ""
	return nil
}

// refresh reports whether the blob at target is already stored, and if so
// sets its modification time to now: an upload that has just found the blob
// again must keep it out of reach of a garbage collection's grace period.
func refresh(target string) (bool, error) {
	now := time.Now()
	err := os.Chtimes(target, now, now)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, iofs.ErrNotExist) {
		return false, nil
	}
	// A blob that another user's process wrote (a restored backup) is still
	// a good blob; only its time cannot move.
	if _, serr := os.Lstat(target); serr == nil {
		return true, nil
	}
	return false, err
}

// place renames temp to target, creating the fan-out directory on first
// use, and syncs what changed. A blob another writer committed meanwhile is
// replaced by identical bytes, which readers cannot tell apart.
func place(temp, target string, sync bool) error {
	dir := filepath.Dir(target)
	err := os.Rename(temp, target)
	if errors.Is(err, iofs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, iofs.ErrExist) {
			return err
		}
		// Even when another writer made the directory, it may not have
		// synced its parent yet.
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
		err = os.Rename(temp, target)
	}
	if err != nil || !sync {
		return err
	}
	return syncDir(dir)
}

// placeUnnamed names an unnamed temporary file target, as place does for a
// named one. A blob another writer committed meanwhile stays: it holds the
// same bytes.
func placeUnnamed(f *os.File, target string, sync bool) error {
	dir := filepath.Dir(target)
	err := linkUnnamed(f, target)
	if errors.Is(err, iofs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, iofs.ErrExist) {
			return err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
		err = linkUnnamed(f, target)
	}
	if err != nil && !errors.Is(err, iofs.ErrExist) {
		return err
	}
	if !sync {
		return nil
	}
	return syncDir(dir)
}

func (w *writer) Cancel(context.Context) error {
	w.done = true
	return w.discard()
}

// discard releases the temporary file, if it is still there.
func (w *writer) discard() error {
	w.buf = nil
	if w.f != nil {
		// The bytes are being thrown away, so a failed close loses nothing.
		_ = w.f.Close()
		w.f = nil
	}
	if w.temp != "" {
		if err := os.Remove(w.temp); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return err
		}
		w.temp = ""
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
