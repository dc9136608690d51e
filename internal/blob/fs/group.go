package fs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/packhouse/packhouse/internal/blob"
)

var _ blob.GroupCommitter = (*Store)(nil)

// CommitGroup commits many writers with two flushes of the filesystem in
// all, where the system can flush one filesystem (syncfs): one makes the
// files' bytes durable, the other their names. Committing them one by one
// costs two flushes each, which dominated pushes of many small packages.
// Elsewhere, files and folders are synced one by one.
func (s *Store) CommitGroup(ctx context.Context, ws []blob.Writer, want []blob.Digest) []error {
	errs := make([]error, len(ws))
	var group []*writer
	var targets []string
	for i, bw := range ws {
		w, ok := bw.(*writer)
		if !ok || w.s != s {
			errs[i] = fmt.Errorf("blob: writer of another store")
			continue
		}
		if w.done {
			errs[i] = errWriterDone
			continue
		}
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		w.done = true
		target, stored, err := w.prepare(want[i])
		switch {
		case err != nil:
			errs[i] = err
			w.discard()
		case stored:
			// Known bytes; only its folder entry must be durable.
			errs[i] = syncDir(filepath.Dir(target))
			w.discard()
		default:
			group = append(group, w)
			targets = append(targets, target)
		}
	}
	if len(group) == 0 {
		return errs
	}
	index := func(w *writer) int {
		for i, bw := range ws {
			if bw == blob.Writer(w) {
				return i
			}
		}
		return -1
	}
	fail := func(err error) []error {
		for _, w := range group {
			errs[index(w)] = err
			w.discard()
		}
		return errs
	}
	bySyncfs := len(group) >= syncfsFrom
	if err := s.syncData(group, bySyncfs); err != nil {
		return fail(err)
	}
	dirs := map[string]bool{}
	for k, w := range group {
		i := index(w)
		if err := w.place(targets[k], false); err != nil {
			errs[i] = err
		} else {
			dirs[filepath.Dir(targets[k])] = true
		}
		w.discard()
	}
	if err := s.syncNames(dirs, bySyncfs); err != nil {
		for k, w := range group {
			if i := index(w); errs[i] == nil && dirs[filepath.Dir(targets[k])] {
				errs[i] = err
			}
		}
	}
	return errs
}

// Groups of fewer blobs than syncfsFrom are synced file by file: syncfs
// flushes every dirty page of the filesystem, other writers' too (a large
// upload being received beside a one-package push, say), where a few
// fsyncs flush the group's own. BenchmarkCommitGroup measured groups of
// 1 and 8 small blobs no slower file by file than by syncfs, on an idle
// filesystem.
const syncfsFrom = 8

// syncData makes the group's bytes durable: with bySyncfs one syncfs,
// else (or where there is none) one fsync per file.
func (s *Store) syncData(group []*writer, bySyncfs bool) error {
	if bySyncfs {
		if err := syncFilesystem(s.root); !errors.Is(err, errNoSyncfs) {
			return err
		}
	}
	for _, w := range group {
		if err := w.f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// syncNames makes the names given to the group durable, as syncData
// does its bytes.
func (s *Store) syncNames(dirs map[string]bool, bySyncfs bool) error {
	if bySyncfs {
		if err := syncFilesystem(s.root); !errors.Is(err, errNoSyncfs) {
			return err
		}
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}
