package push

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packhouse/packhouse/internal/client"
)

// Reporter is told how a push goes. Its methods are called from several
// goroutines at once.
type Reporter interface {
	// Hashing is called as each file is hashed (or found in the cache).
	Hashing(done, total int)
	// Sending is called once, when the server has said which files it
	// lacks: that many files and bytes are about to be uploaded.
	Sending(files int, bytes int64)
	// Sent is called as body bytes are read for upload.
	Sent(n int64)
	// Done is called once per file, with its final result.
	Done(r Result)
	// Finish is called last.
	Finish(s *Summary)
}

type nopReporter struct{}

func (nopReporter) Hashing(int, int)   {}
func (nopReporter) Sending(int, int64) {}
func (nopReporter) Sent(int64)         {}
func (nopReporter) Done(Result)        {}
func (nopReporter) Finish(*Summary)    {}

// NewProgress returns a Reporter writing to w. On a terminal it keeps one
// line up to date (files done, bytes sent, rate) and prints failures above
// it; elsewhere, as in CI logs, it prints one line per file and a summary.
func NewProgress(w io.Writer, terminal bool) Reporter {
	if terminal {
		return &ttyProgress{w: w}
	}
	return &lineProgress{w: w}
}

type lineProgress struct {
	mu sync.Mutex
	w  io.Writer
}

func (*lineProgress) Hashing(int, int)   {}
func (*lineProgress) Sending(int, int64) {}
func (*lineProgress) Sent(int64)         {}

func (p *lineProgress) Done(r Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, resultLine(r))
}

func (p *lineProgress) Finish(s *Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, SummaryLine(s))
}

// ttyProgress redraws at most every redrawEvery, from whichever goroutine
// reports something, so it needs no goroutine of its own.
type ttyProgress struct {
	w io.Writer

	sent     atomic.Int64
	lastDraw atomic.Int64 // UnixNano

	mu         sync.Mutex
	hashed     int
	total      int
	done       int
	sending    bool
	sendStart  time.Time
	sendBytes  int64
	sendFiles  int
	lineOnTerm bool
}

const redrawEvery = 100 * time.Millisecond

func (p *ttyProgress) Hashing(done, total int) {
	p.mu.Lock()
	p.hashed, p.total = max(p.hashed, done), total
	p.mu.Unlock()
	p.maybeDraw(done == total)
}

func (p *ttyProgress) Sending(files int, bytes int64) {
	p.mu.Lock()
	p.sending, p.sendStart, p.sendFiles, p.sendBytes = true, time.Now(), files, bytes
	p.mu.Unlock()
	p.maybeDraw(true)
}

func (p *ttyProgress) Sent(n int64) {
	p.sent.Add(n)
	p.maybeDraw(false)
}

func (p *ttyProgress) Done(r Result) {
	p.mu.Lock()
	p.done++
	if r.Status == StatusFailed {
		p.clearLocked()
		fmt.Fprintln(p.w, resultLine(r))
	}
	p.mu.Unlock()
	p.maybeDraw(r.Status == StatusFailed)
}

func (p *ttyProgress) Finish(s *Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintln(p.w, SummaryLine(s))
}

func (p *ttyProgress) maybeDraw(force bool) {
	now := time.Now().UnixNano()
	last := p.lastDraw.Load()
	if !force && now-last < int64(redrawEvery) {
		return
	}
	if !p.lastDraw.CompareAndSwap(last, now) && !force {
		return // another goroutine is drawing this tick
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var line string
	if !p.sending {
		line = fmt.Sprintf("hashing %d/%d files", p.hashed, p.total)
	} else {
		sent := p.sent.Load()
		line = fmt.Sprintf("pushing %d/%d files, sent %s of %s", p.done, p.total, FormatBytes(sent), FormatBytes(p.sendBytes))
		if d := time.Since(p.sendStart); d > 500*time.Millisecond {
			line += fmt.Sprintf(", %s/s", FormatBytes(int64(float64(sent)/d.Seconds())))
		}
	}
	// \r and erase-to-end-of-line: shorter lines leave nothing behind.
	fmt.Fprint(p.w, "\r"+line+"\x1b[K")
	p.lineOnTerm = true
}

func (p *ttyProgress) clearLocked() {
	if p.lineOnTerm {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.lineOnTerm = false
	}
}

func resultLine(r Result) string {
	if r.Status == StatusFailed {
		return fmt.Sprintf("%-7s %s: %v", r.Status, r.Path, r.Err)
	}
	desc := FormatBytes(r.Size)
	if pk := r.Package; pk != nil {
		var id []string
		for _, f := range []string{pk.Name, pk.Version, pk.Architecture} {
			if f != "" {
				id = append(id, f)
			}
		}
		if len(id) > 0 {
			desc = strings.Join(id, " ") + ", " + desc
		}
	}
	return fmt.Sprintf("%-7s %s (%s)", r.Status, r.Path, desc)
}

// SummaryLine describes a finished push in one line.
func SummaryLine(s *Summary) string {
	var b strings.Builder
	files := "files"
	if len(s.Results) == 1 {
		files = "file"
	}
	fmt.Fprintf(&b, "%s@%s: %d %s: %d %s, %d %s, %d %s, %d %s; sent %s",
		s.Project, s.Branch, len(s.Results), files,
		s.Stored, client.StatusStored, s.Linked, client.StatusLinked,
		s.Exists, client.StatusExists, s.Failed, StatusFailed,
		FormatBytes(s.BytesSent))
	if secs := s.Elapsed.Seconds(); s.BytesSent > 0 && secs > 0 {
		fmt.Fprintf(&b, " (%s/s)", FormatBytes(int64(float64(s.BytesSent)/secs)))
	}
	fmt.Fprintf(&b, ", skipped %s; hashed %d, %d from cache; %s",
		FormatBytes(s.BytesSkipped), s.Hashed, s.Cached, s.Elapsed.Round(time.Millisecond))
	return b.String()
}

// FormatBytes writes a size in binary units: 1.5 KiB, 12.0 MiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
