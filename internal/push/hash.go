package push

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// hashBufSize is large so that a file is read in few system calls; with
// SHA-NI, hashing runs at well over 1 GB/s per core and 32 KB reads would
// show.
const hashBufSize = 1 << 20

var errChangedWhileHashing = errors.New("file changed while it was being hashed")

// FileHash is the SHA-256 and size of one file.
type FileHash struct {
	Path   string // as given
	Size   int64
	SHA256 [sha256.Size]byte
	Cached bool  // taken from the cache, the file was not read
	Err    error // the file could not be hashed; the other fields are unset
}

// HashFiles hashes paths with workers goroutines (GOMAXPROCS when workers
// ≤ 0), one file per goroutine at a time. It takes unchanged files' hashes
// from cache and records new ones there; cache may be nil. progress, when
// not nil, is called with the number of files done so far, from any
// goroutine. Results are in the order of paths; a file that cannot be read
// has Err set and does not stop the others.
func HashFiles(ctx context.Context, paths []string, workers int, cache *Cache, progress func(done int)) []FileHash {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(paths))
	// Files are known to the cache by absolute path.
	abs := make([]string, len(paths))
	absErr := make([]error, len(paths))
	for i, p := range paths {
		abs[i], absErr[i] = filepath.Abs(p)
	}
	if cache != nil {
		cache.prepare(abs)
	}
	out := make([]FileHash, len(paths))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf []byte // allocated at the first file not in the cache
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				switch {
				case ctx.Err() != nil:
					out[i] = FileHash{Path: paths[i], Err: ctx.Err()}
				case absErr[i] != nil:
					out[i] = FileHash{Path: paths[i], Err: absErr[i]}
				default:
					out[i] = hashFile(paths[i], abs[i], &buf, cache)
				}
				if progress != nil {
					progress(int(done.Add(1)))
				}
			}
		})
	}
	wg.Wait()
	return out
}

// hashFile hashes the file at path, whose absolute path is abs.
func hashFile(path, abs string, buf *[]byte, cache *Cache) FileHash {
	fh := FileHash{Path: path}
	// A stat is all a cache hit costs; the file is not even opened.
	if cache != nil {
		fi, err := os.Stat(abs)
		if err != nil {
			fh.Err = err
			return fh
		}
		if sum, ok := cache.lookup(abs, fi); ok && fi.Mode().IsRegular() {
			fh.Size, fh.SHA256, fh.Cached = fi.Size(), sum, true
			return fh
		}
	}
	f, err := os.Open(abs)
	if err != nil {
		fh.Err = err
		return fh
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		fh.Err = err
		return fh
	}
	if !before.Mode().IsRegular() {
		fh.Err = fmt.Errorf("%s: not a regular file", path)
		return fh
	}
	if *buf == nil {
		*buf = make([]byte, hashBufSize)
	}
	readStart := time.Now()
	h := sha256.New()
	var n int64
	// Not io.CopyBuffer: *os.File's WriteTo would take over and read in
	// 32 KB pieces.
	for {
		m, err := f.Read(*buf)
		h.Write((*buf)[:m])
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			fh.Err = fmt.Errorf("%s: %w", path, err)
			return fh
		}
	}
	after, err := f.Stat()
	if err != nil {
		fh.Err = err
		return fh
	}
	if n != before.Size() || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		fh.Err = fmt.Errorf("%s: %w", path, errChangedWhileHashing)
		return fh
	}
	fh.Size = n
	h.Sum(fh.SHA256[:0])
	if cache != nil {
		cache.store(abs, before, fh.SHA256, readStart)
	}
	return fh
}
