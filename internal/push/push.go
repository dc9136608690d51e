package push

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packhouse/packhouse/internal/client"
)

// DefaultJobs is how many bodies are uploaded at once.
const DefaultJobs = 8

// StatusFailed is the status of a file that was not pushed; the others are
// client.StatusStored, StatusLinked and StatusExists.
const StatusFailed = "failed"

// Pusher is the part of the API client that Push uses.
type Pusher interface {
	PushCheck(ctx context.Context, project, branch string, entries []client.PushEntry, replace bool) ([]client.PushResult, error)
	PushFile(ctx context.Context, project, branch string, f client.PushFile, replace bool) (client.PushResult, error)
	PushFiles(ctx context.Context, project, branch string, files []client.PushFile, replace bool) ([]client.PushResult, error)
}

// Files up to smallFile go to the server many at once (at most batchFiles
// and batchBytes in one request), which commits them in groups; larger ones
// go one per request, several requests at once.
const (
	smallFile  = 8 << 20
	batchFiles = 512
	batchBytes = 64 << 20
	// batchJobs bounds concurrent batch requests: each keeps a server core
	// busy parsing and hashing.
	batchJobs = 2
)

var _ Pusher = (*client.Client)(nil)

// Options say where and how to push.
type Options struct {
	Project string
	Branch  string
	Replace bool // replace a package with the same name, version and architecture
	// Plain, when its Name and Version are set, pushes the files as plain
	// files of that name and version (installers, archives), not as
	// packages.
	Plain Plain
	Jobs  int // parallel uploads; DefaultJobs when ≤ 0
	// HashWorkers is how many files are hashed at once; GOMAXPROCS when ≤ 0.
	HashWorkers int
	// Cache, when set, gives the hashes of unchanged files, and is saved
	// with the new ones while the server is asked and sent the files.
	Cache    *Cache
	Progress Reporter // nil: report nothing
}

// Plain names plain files: the newest version of a name is what a
// branch's "latest" URL serves.
type Plain struct {
	Name, Version, Arch string
}

// Result is what became of one file.
type Result struct {
	Path    string
	Size    int64
	SHA256  string
	Status  string          // client.StatusStored, StatusLinked, StatusExists or StatusFailed
	Package *client.Package // as the server parsed it, when it said
	Err     error           // why it failed
}

// Summary is what became of a push.
type Summary struct {
	Project, Branch string
	Results         []Result // in the order of the paths given

	Stored, Linked, Exists, Failed int
	Hashed, Cached                 int   // files read to hash them, files whose hash the cache had
	BytesSent                      int64 // body bytes uploaded, retries included
	BytesSkipped                   int64 // bytes of files the server already held
	Elapsed                        time.Duration
	// CacheErr is why the hash cache could not be saved. The push does
	// not fail for it: the next one hashes again.
	CacheErr error
}

// Push hashes the files, asks the server about all of them in one batch,
// and uploads the ones it lacks, Jobs at a time. Every file ends with a
// Result; the error is not nil when any failed.
func Push(ctx context.Context, p Pusher, paths []string, opts Options) (*Summary, error) {
	start := time.Now()
	if opts.Jobs <= 0 {
		opts.Jobs = DefaultJobs
	}
	rep := opts.Progress
	if rep == nil {
		rep = nopReporter{}
	}
	s := &Summary{Project: opts.Project, Branch: opts.Branch, Results: make([]Result, len(paths))}
	var sent atomic.Int64
	var saved chan error // the cache's Save, when there is a cache
	finish := func() (*Summary, error) {
		if saved != nil {
			s.CacheErr = <-saved
		}
		s.BytesSent = sent.Load()
		s.Elapsed = time.Since(start)
		s.count()
		rep.Finish(s)
		return s, s.err()
	}

	hashes := HashFiles(ctx, paths, opts.HashWorkers, opts.Cache, func(done int) { rep.Hashing(done, len(paths)) })
	if opts.Cache != nil {
		// Written beside the network work rather than after it: a
		// cache of many files takes milliseconds to write, as long as
		// a small push takes to send.
		saved = make(chan error, 1)
		go func() { saved <- opts.Cache.Save() }()
	}

	// Files with the same bytes are asked about and sent once; every path
	// gets the answer.
	var (
		groups  [][]int // indexes into paths, per distinct SHA-256
		entries []client.PushEntry
		bySum   = make(map[[32]byte]int)
	)
	for i, h := range hashes {
		r := &s.Results[i]
		r.Path, r.Size = h.Path, h.Size
		if h.Err != nil {
			r.Status, r.Err = StatusFailed, h.Err
			rep.Done(*r)
			continue
		}
		if h.Cached {
			s.Cached++
		} else {
			s.Hashed++
		}
		r.SHA256 = hex.EncodeToString(h.SHA256[:])
		if g, ok := bySum[h.SHA256]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		bySum[h.SHA256] = len(groups)
		groups = append(groups, []int{i})
		entries = append(entries, client.PushEntry{SHA256: r.SHA256, Size: h.Size, Filename: filepath.Base(h.Path)})
	}
	settle := func(g int, status string, pkg *client.Package, err error) {
		for _, i := range groups[g] {
			r := &s.Results[i]
			r.Status, r.Package, r.Err = status, pkg, err
			rep.Done(*r)
		}
	}
	if len(entries) == 0 {
		return finish()
	}

	checked, err := p.PushCheck(ctx, opts.Project, opts.Branch, entries, opts.Replace)
	if err == nil && len(checked) != len(entries) {
		err = fmt.Errorf("%d answers for %d files", len(checked), len(entries))
	}
	if err != nil {
		err = fmt.Errorf("asking the server which files it holds: %w", err)
		for g := range groups {
			settle(g, StatusFailed, nil, err)
		}
		return finish()
	}
	var missing []int // group indexes
	var missingBytes int64
	for g, cr := range checked {
		switch cr.Status {
		case client.StatusLinked, client.StatusExists:
			for _, i := range groups[g] {
				s.BytesSkipped += s.Results[i].Size
			}
			settle(g, cr.Status, cr.Package, nil)
		case client.StatusMissing:
			missing = append(missing, g)
			missingBytes += entries[g].Size
			for _, i := range groups[g][1:] {
				s.BytesSkipped += s.Results[i].Size
			}
		case client.StatusError:
			var err error = &client.APIError{Code: "unknown", Message: "the server gave no reason"}
			if cr.Error != nil {
				err = cr.Error
			}
			settle(g, StatusFailed, nil, err)
		default:
			settle(g, StatusFailed, nil, fmt.Errorf("server answered unknown status %q", cr.Status))
		}
	}
	rep.Sending(len(missing), missingBytes)

	pushFile := func(g int) client.PushFile {
		first := s.Results[groups[g][0]]
		return client.PushFile{
			Path:   first.Path,
			Size:   first.Size,
			SHA256: first.SHA256,
			Name:   opts.Plain.Name, Version: opts.Plain.Version, Arch: opts.Plain.Arch,
			Open: func() (io.ReadCloser, error) {
				f, err := os.Open(first.Path)
				if err != nil {
					return nil, err
				}
				return &countingReader{f: f, sent: &sent, rep: rep}, nil
			},
		}
	}
	answer := func(g int, res client.PushResult, err error) {
		switch {
		case err != nil:
			settle(g, StatusFailed, nil, err)
		case res.Status == client.StatusStored || res.Status == client.StatusLinked || res.Status == client.StatusExists:
			settle(g, res.Status, res.Package, nil)
		case res.Status == client.StatusError && res.Error != nil:
			settle(g, StatusFailed, nil, res.Error)
		default:
			settle(g, StatusFailed, nil, fmt.Errorf("server answered unknown status %q", res.Status))
		}
	}

	var small, large []int
	for _, g := range missing {
		if entries[g].Size <= smallFile {
			small = append(small, g)
		} else {
			large = append(large, g)
		}
	}
	var batches [][]int
	for len(small) > 0 {
		n, bytes := 0, int64(0)
		for n < len(small) && n < batchFiles && (n == 0 || bytes+entries[small[n]].Size <= batchBytes) {
			bytes += entries[small[n]].Size
			n++
		}
		batches = append(batches, small[:n])
		small = small[n:]
	}

	var wg sync.WaitGroup
	batchWork := make(chan []int)
	for range min(batchJobs, len(batches)) {
		wg.Go(func() {
			for batch := range batchWork {
				files := make([]client.PushFile, len(batch))
				for k, g := range batch {
					files[k] = pushFile(g)
				}
				results, err := p.PushFiles(ctx, opts.Project, opts.Branch, files, opts.Replace)
				for k, g := range batch {
					if err != nil {
						answer(g, client.PushResult{}, err)
					} else {
						answer(g, results[k], nil)
					}
				}
			}
		})
	}
	// Largest first, so that one big file does not start last and leave
	// the other connections idle while it finishes.
	slices.SortStableFunc(large, func(a, b int) int { return cmp.Compare(entries[b].Size, entries[a].Size) })
	work := make(chan int)
	for range min(opts.Jobs, len(large)) {
		wg.Go(func() {
			for g := range work {
				res, err := p.PushFile(ctx, opts.Project, opts.Branch, pushFile(g), opts.Replace)
				answer(g, res, err)
			}
		})
	}
	go func() {
		for _, b := range batches {
			batchWork <- b
		}
		close(batchWork)
	}()
	for _, g := range large {
		work <- g
	}
	close(work)
	wg.Wait()
	return finish()
}

func (s *Summary) count() {
	s.Stored, s.Linked, s.Exists, s.Failed = 0, 0, 0, 0
	for _, r := range s.Results {
		switch r.Status {
		case client.StatusStored:
			s.Stored++
		case client.StatusLinked:
			s.Linked++
		case client.StatusExists:
			s.Exists++
		default:
			s.Failed++
		}
	}
}

// err names the failure when there is one, or counts them.
func (s *Summary) err() error {
	if s.Failed == 0 {
		return nil
	}
	var first *Result
	for i := range s.Results {
		if s.Results[i].Status == StatusFailed {
			first = &s.Results[i]
			break
		}
	}
	if s.Failed == 1 {
		return fmt.Errorf("%s: %w", first.Path, first.Err)
	}
	return &FailedError{Failed: s.Failed, Total: len(s.Results), First: fmt.Errorf("%s: %w", first.Path, first.Err)}
}

// FailedError says that several files of a push failed. Each one's reason is
// in Summary.Results.
type FailedError struct {
	Failed, Total int
	First         error
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d files failed; the first: %v", e.Failed, e.Total, e.First)
}

func (e *FailedError) Unwrap() error { return e.First }

// countingReader reports body bytes as the HTTP transport reads them.
type countingReader struct {
	f    *os.File
	sent *atomic.Int64
	rep  Reporter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if n > 0 {
		c.sent.Add(int64(n))
		c.rep.Sent(int64(n))
	}
	return n, err
}

func (c *countingReader) Close() error { return c.f.Close() }
