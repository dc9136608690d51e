package service

import (
	"context"
	"errors"
	"sync"

	"github.com/packhouse/packhouse/internal/meta"
)

// ErrUnavailable is returned for work handed in after Close.
var ErrUnavailable = errors.New("service is shutting down")

// linker commits concurrent single-package links in groups: every commit
// waits for the disk, so a CI job pushing many packages at once would
// otherwise pay one disk flush per package. Requests that arrive while a
// transaction is running go together into the next.
type linker struct {
	m      meta.Store
	calls  chan *linkCall
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

type linkCall struct {
	ctx  context.Context
	req  meta.LinkRequest
	res  meta.LinkResult
	err  error
	done chan struct{}
}

// maxGroup bounds one transaction, so that a burst cannot hold the
// database's write lock for long.
const maxGroup = 512

func newLinker(m meta.Store) *linker {
	l := &linker{m: m, calls: make(chan *linkCall, maxGroup)}
	l.wg.Add(1)
	go l.run()
	return l
}

func (l *linker) link(ctx context.Context, req meta.LinkRequest) (meta.LinkResult, error) {
	c := &linkCall{ctx: ctx, req: req, done: make(chan struct{})}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return meta.LinkResult{}, ErrUnavailable
	}
	l.calls <- c
	l.mu.RUnlock()
	<-c.done
	return c.res, c.err
}

func (l *linker) run() {
	defer l.wg.Done()
	for c := range l.calls {
		group := []*linkCall{c}
	fill:
		for len(group) < maxGroup {
			select {
			case c, ok := <-l.calls:
				if !ok {
					break fill
				}
				group = append(group, c)
			default:
				break fill
			}
		}
		l.commit(group)
	}
}

func (l *linker) commit(group []*linkCall) {
	live := group[:0]
	for _, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	reqs := make([]meta.LinkRequest, len(live))
	for i, c := range live {
		reqs[i] = c.req
	}
	results, err := l.m.Link(context.Background(), reqs)
	for i, c := range live {
		if err != nil {
			c.err = err
		} else {
			c.res = results[i]
		}
		close(c.done)
	}
}

func (l *linker) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.calls)
	}
	l.mu.Unlock()
	l.wg.Wait()
}
