package mem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/packhouse/packhouse/internal/blob"
)

// Store is an in-memory blob.Store. The zero value is not usable; call New.
type Store struct {
	mu    sync.RWMutex
	blobs map[blob.Digest]entry
}

type entry struct {
	data    []byte // never modified once stored, so readers share it
	modTime time.Time
}

var _ blob.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{blobs: make(map[blob.Digest]entry)}
}

var errWriterDone = errors.New("blob writer already committed or canceled")

// Create starts a new blob.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &writer{s: s, ctx: ctx, h: sha256.New()}, nil
}

// Open returns a reader over the blob's bytes.
func (s *Store) Open(ctx context.Context, d blob.Digest) (io.ReadSeekCloser, error) {
	e, err := s.get(ctx, d)
	if err != nil {
		return nil, err
	}
	return reader{bytes.NewReader(e.data)}, nil
}

// Stat describes the blob.
func (s *Store) Stat(ctx context.Context, d blob.Digest) (blob.Info, error) {
	e, err := s.get(ctx, d)
	if err != nil {
		return blob.Info{}, err
	}
	return blob.Info{Digest: d, Size: int64(len(e.data)), ModTime: e.modTime}, nil
}

func (s *Store) get(ctx context.Context, d blob.Digest) (entry, error) {
	if err := ctx.Err(); err != nil {
		return entry{}, err
	}
	s.mu.RLock()
	e, ok := s.blobs[d]
	s.mu.RUnlock()
	if !ok {
		return entry{}, fmt.Errorf("%w: %s", blob.ErrNotFound, d)
	}
	return e, nil
}

// Delete removes the blob.
func (s *Store) Delete(ctx context.Context, d blob.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[d]; !ok {
		return fmt.Errorf("%w: %s", blob.ErrNotFound, d)
	}
	delete(s.blobs, d)
	return nil
}

// List calls fn for each blob stored when List was called. fn may use the
// store.
func (s *Store) List(ctx context.Context, fn func(blob.Info) error) error {
	s.mu.RLock()
	infos := make([]blob.Info, 0, len(s.blobs))
	for d, e := range s.blobs {
		infos = append(infos, blob.Info{Digest: d, Size: int64(len(e.data)), ModTime: e.modTime})
	}
	s.mu.RUnlock()
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

type reader struct{ *bytes.Reader }

func (reader) Close() error { return nil }

type writer struct {
	s    *Store
	ctx  context.Context
	buf  bytes.Buffer
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
	w.h.Write(p)
	w.n += int64(len(p))
	return w.buf.Write(p)
}

func (w *writer) Size() int64 { return w.n }

func (w *writer) Digest() blob.Digest { return blob.Digest(w.h.Sum(nil)) }

func (w *writer) Commit(ctx context.Context, want blob.Digest) error {
	if w.done {
		return errWriterDone
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.done = true
	data := w.buf.Bytes()
	w.buf = bytes.Buffer{}
	if got := blob.Digest(w.h.Sum(nil)); got != want {
		return fmt.Errorf("%w: wrote %s, want %s", blob.ErrDigestMismatch, got, want)
	}
	now := time.Now()
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if e, ok := w.s.blobs[want]; ok {
		// Refreshing the time keeps a blob that an upload has just found
		// again out of reach of a garbage collection's grace period.
		e.modTime = now
		w.s.blobs[want] = e
		return nil
	}
	w.s.blobs[want] = entry{data: data, modTime: now}
	return nil
}

func (w *writer) Cancel(context.Context) error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}
