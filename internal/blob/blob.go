// Package blob defines the content-addressed blob store: bytes addressed by
// their SHA-256, written once, never changed. Implementations live in
// sub-packages (fs, mem) and all pass the conformance suite in blobtest.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

var (
	// ErrNotFound is returned when no blob has the requested digest.
	ErrNotFound = errors.New("blob not found")
	// ErrDigestMismatch is returned by Writer.Commit when the bytes written
	// do not hash to the digest the caller expected.
	ErrDigestMismatch = errors.New("blob digest mismatch")
)

// Digest is the SHA-256 of a blob's bytes.
type Digest [sha256.Size]byte

// String returns the digest as lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the zero digest (no digest).
func (d Digest) IsZero() bool { return d == Digest{} }

// ParseDigest parses 64 hex characters, in either case.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*sha256.Size {
		return d, fmt.Errorf("digest %q: want %d hex characters", s, 2*sha256.Size)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("digest %q: %w", s, err)
	}
	return d, nil
}

// Info describes a stored blob.
type Info struct {
	Digest  Digest
	Size    int64
	ModTime time.Time
}

// Store is a content-addressed blob store.
type Store interface {
	// Create starts writing a new blob. The caller writes the bytes, then
	// calls Commit with the digest it expects, or Cancel. Nothing is
	// visible to Open, Stat or List before Commit succeeds.
	Create(ctx context.Context) (Writer, error)
	// Open returns the blob's bytes. The reader supports Seek so that HTTP
	// range requests can be served.
	Open(ctx context.Context, d Digest) (io.ReadSeekCloser, error)
	// Stat returns ErrNotFound when the blob is not stored.
	Stat(ctx context.Context, d Digest) (Info, error)
	// Delete removes the blob; deleting a missing blob returns ErrNotFound.
	Delete(ctx context.Context, d Digest) error
	// List calls fn for every stored blob, in no particular order, and stops
	// at the first error fn returns.
	List(ctx context.Context, fn func(Info) error) error
}

// Writer receives a blob's bytes as they stream. It hashes them as they
// are written, so that Commit can verify without reading them again.
type Writer interface {
	io.Writer
	// Size is the number of bytes written so far.
	Size() int64
	// Digest is the SHA-256 of the bytes written so far.
	Digest() Digest
	// Commit makes the blob durable and visible under want. It fails with
	// ErrDigestMismatch (and stores nothing) when the bytes written hash to
	// something else. Committing a blob that is already stored succeeds.
	Commit(ctx context.Context, want Digest) error
	// Cancel discards what was written. It is safe to call more than once
	// and after Commit, so that it can be deferred.
	Cancel(ctx context.Context) error
}

// Put streams r into s and commits it under want.
func Put(ctx context.Context, s Store, want Digest, r io.Reader) (int64, error) {
	w, err := s.Create(ctx)
	if err != nil {
		return 0, err
	}
	defer w.Cancel(ctx)
	n, err := io.Copy(w, r)
	if err != nil {
		return n, err
	}
	return n, w.Commit(ctx, want)
}

// PutBytes stores b and returns its digest.
func PutBytes(ctx context.Context, s Store, b []byte) (Digest, error) {
	d := Digest(sha256.Sum256(b))
	if _, err := s.Stat(ctx, d); err == nil {
		return d, nil
	}
	w, err := s.Create(ctx)
	if err != nil {
		return d, err
	}
	defer w.Cancel(ctx)
	if _, err := w.Write(b); err != nil {
		return d, err
	}
	return d, w.Commit(ctx, d)
}

// GroupCommitter is implemented by stores that commit many writers at less
// cost than one at a time (the local folder store makes them durable with
// one flush instead of one per blob). Errors are per writer; every writer
// is done afterwards, as after Commit.
type GroupCommitter interface {
	CommitGroup(ctx context.Context, ws []Writer, want []Digest) []error
}

// CommitGroup commits ws, as a group where s supports it.
func CommitGroup(ctx context.Context, s Store, ws []Writer, want []Digest) []error {
	if g, ok := s.(GroupCommitter); ok {
		return g.CommitGroup(ctx, ws, want)
	}
	errs := make([]error, len(ws))
	for i, w := range ws {
		errs[i] = w.Commit(ctx, want[i])
	}
	return errs
}
