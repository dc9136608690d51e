package service

import (
	"context"
	"slices"
	"sync"

	"github.com/packhouse/packhouse/internal/meta"
)

// publishers by package format.
var publishers = map[string]*publisher{
	meta.FormatDeb:  aptRepo,
	meta.FormatRPM:  rpmRepo,
	meta.FormatArch: pacmanRepo,
	meta.FormatAPK:  apkRepo,
	meta.FormatFile: filesRepo,
}

// warmer publishes a branch's views in the background as soon as a push
// changes them. Views are published when first read after a change; done
// at push time, the first client after a push (the next CI job's apt-get
// update, dnf makecache) finds the indexes made or being made, and waits
// for that build, not for one of its own.
//
// Only the pushed branch's own views are warmed. A push to a default
// branch also changes every other branch's view of the same repository;
// those are published when they are read, as before.
type warmer struct {
	s  *Service
	wg sync.WaitGroup

	mu sync.Mutex
	// again has the views being built, and whether they changed since
	// their build started.
	again   map[string]bool
	stopped bool
}

func newWarmer(s *Service) *warmer {
	return &warmer{s: s, again: map[string]bool{}}
}

// changed is told what a push did to a project's branch. Nothing is done
// unless some package was added.
func (w *warmer) changed(project meta.Project, branch string, results []meta.LinkResult) {
	if w.s.cfg.LazyPublish {
		return
	}
	var formats []string
	for _, r := range results {
		if (r.Status == meta.Stored || r.Status == meta.Linked) && !slices.Contains(formats, r.Package.Format) {
			formats = append(formats, r.Package.Format)
		}
	}
	if len(formats) == 0 {
		return
	}
	w.spawn(func(ctx context.Context) {
		repos, err := w.s.meta.Repositories(ctx)
		if err != nil {
			w.s.log.Warn("publish after push: list repositories", "err", err)
			return
		}
		for _, repo := range repos {
			if !slices.Contains(repo.Projects, project.Name) {
				continue
			}
			for _, f := range formats {
				if pb := publishers[f]; pb != nil {
					w.publish(ctx, pb, repo, branch)
				}
			}
		}
	})
}

// publish makes one view current. While a build of the view that this
// warmer started runs, later changes only ask it for one more build
// after it: a burst of pushes makes two builds, not one per push.
func (w *warmer) publish(ctx context.Context, pb *publisher, repo meta.Repository, branch string) {
	key := pb.format + "/" + repo.Name + "/" + branch
	w.mu.Lock()
	if _, running := w.again[key]; running {
		w.again[key] = true
		w.mu.Unlock()
		return
	}
	w.again[key] = false
	w.mu.Unlock()
	for {
		if _, err := w.s.currentOf(ctx, pb, repo, branch); err != nil {
			w.s.log.Warn("publish after push", "format", pb.format, "repository", repo.Name, "branch", branch, "err", err)
		}
		w.mu.Lock()
		if !w.again[key] {
			delete(w.again, key)
			w.mu.Unlock()
			return
		}
		w.again[key] = false
		w.mu.Unlock()
	}
}

// spawn runs f in the background, and says whether it does: not after
// close, which waits for it. A build is not cut short: it is bounded
// work, and its result is kept.
func (w *warmer) spawn(f func(ctx context.Context)) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		f(context.Background())
	}()
	return true
}

// close starts no more builds and waits for those started.
func (w *warmer) close() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.wg.Wait()
}
