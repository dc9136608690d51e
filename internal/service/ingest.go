package service

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/lazyre"

	"github.com/packhouse/packhouse/internal/deb/control"
	"github.com/packhouse/packhouse/internal/index/apt"
	"github.com/packhouse/packhouse/internal/iolimit"
	"github.com/packhouse/packhouse/internal/meta"
)

// Checksums are hex digests; empty ones are not checked.
type Checksums struct {
	SHA256, MD5, SHA1, SHA512 string
}

// PushRequest is one package pushed with its body.
type PushRequest struct {
	Project  string
	Branch   string
	Replace  bool
	Filename string
	// Plain, when set, stores the body as a plain file of that name and
	// version, not as a package.
	Plain *Plain
	Body  io.Reader
	// Size is the body's declared length, or -1 when unknown.
	Size    int64
	Claimed Checksums
}

// PushResult says what happened to one pushed package.
type PushResult struct {
	Status  meta.LinkStatus
	Package meta.Package
}

// Push stores a package and adds it to a branch. The body is read once:
// it streams to a temporary blob while MD5, SHA-1, SHA-256 and SHA-512
// are computed and the package is parsed, and nothing is kept unless all
// of that succeeds.
func (s *Service) Push(ctx context.Context, req PushRequest) (PushResult, error) {
	project, err := s.target(ctx, req.Project, req.Branch)
	if err != nil {
		return PushResult{}, err
	}
	if req.Size > s.cfg.MaxPackageSize {
		return PushResult{}, fmt.Errorf("package of %d bytes exceeds the limit of %d: %w", req.Size, s.cfg.MaxPackageSize, ErrTooLarge)
	}
	claimed, err := req.Claimed.normalize()
	if err != nil {
		return PushResult{}, err
	}
	pkg, w, err := s.ingest(ctx, req.Body, claimed, req.Filename, req.Plain)
	if w != nil {
		defer w.Cancel(ctx)
	}
	if err != nil {
		return PushResult{}, err
	}
	pkg.Filename = baseName(req.Filename, pkg)
	if err := w.Commit(ctx, w.Digest()); err != nil {
		return PushResult{}, fmt.Errorf("store package: %w", err)
	}
	res, err := s.linker.link(ctx, meta.LinkRequest{ProjectID: project.ID, Branch: req.Branch, New: pkg, Replace: req.Replace})
	if err != nil {
		return PushResult{}, err
	}
	s.warm.changed(project, req.Branch, []meta.LinkResult{res})
	return linkResult(res)
}

// ingest streams body into a new blob and parses it as the package its
// first bytes and filename say it is, or as a plain file. The caller
// cancels the returned writer (a no-op once committed).
func (s *Service) ingest(ctx context.Context, body io.Reader, claimed Checksums, filename string, plain *Plain) (*meta.Package, blob.Writer, error) {
	if plain != nil {
		if err := ValidName("file", plain.Name); err != nil {
			return nil, nil, err
		}
		if err := validVersion(plain.Version); err != nil {
			return nil, nil, err
		}
		if plain.Arch != "" && !validArch(plain.Arch) {
			return nil, nil, fmt.Errorf("architecture %q: %w", plain.Arch, ErrInvalidName)
		}
	}
	limited := &iolimit.Reader{R: body, N: s.cfg.MaxPackageSize, Err: ErrTooLarge}
	head := make([]byte, 512)
	n, err := io.ReadFull(limited, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, nil, fmt.Errorf("receive package: %w", err)
	}
	head = head[:n]
	format, parse, err := detect(head, filename, plain)
	if err != nil {
		return nil, nil, err
	}

	w, err := s.blobs.Create(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("store package: %w", err)
	}
	md5h, sha1h, sha512h := md5.New(), sha1.New(), sha512.New()

	// The parser reads from a pipe fed by the same copy that writes the
	// blob. If it rejects the package it closes the pipe with its error,
	// which stops the copy: a bad package is not read to the end.
	pr, pw := io.Pipe()
	type parsed struct {
		pkg *meta.Package
		err error
	}
	done := make(chan parsed, 1)
	go func() {
		p, err := parse(pr)
		if err != nil {
			pr.CloseWithError(err)
		} else {
			// A parser may stop at the end of what it needs; the rest
			// must still reach the hashes and the blob.
			_, err = io.Copy(io.Discard, pr)
		}
		done <- parsed{p, err}
	}()
	_, copyErr := io.Copy(io.MultiWriter(w, md5h, sha1h, sha512h, pw), io.MultiReader(bytes.NewReader(head), limited))
	pw.CloseWithError(copyErr)
	res := <-done

	switch {
	case limited.Exceeded:
		return nil, w, fmt.Errorf("package exceeds the limit of %d bytes: %w", s.cfg.MaxPackageSize, ErrTooLarge)
	case res.err != nil && badPackage(res.err):
		return nil, w, res.err
	case copyErr != nil:
		return nil, w, fmt.Errorf("receive package: %w", copyErr)
	case res.err != nil:
		return nil, w, fmt.Errorf("read %s package: %w", format, res.err)
	}

	sums := Checksums{
		SHA256: w.Digest().String(),
		MD5:    hex.EncodeToString(md5h.Sum(nil)),
		SHA1:   hex.EncodeToString(sha1h.Sum(nil)),
		SHA512: hex.EncodeToString(sha512h.Sum(nil)),
	}
	if err := claimed.check(sums); err != nil {
		return nil, w, err
	}
	p := res.pkg
	p.SHA256, p.MD5, p.SHA1, p.SHA512 = sums.SHA256, sums.MD5, sums.SHA1, sums.SHA512
	p.Size = w.Size()
	return p, w, nil
}

// validVersion checks a plain file's version: it is part of URLs.
func validVersion(v string) error {
	if len(v) > 128 || !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: use 1 to 128 of letters, digits, '.', '_', '+', '~', ':' and '-', starting with a letter or digit: %w", v, ErrInvalidName)
	}
	return nil
}

// Lengths are checked apart: a bounded repetition such as {0,127}
// compiles to one instruction per repetition, which made compiling the
// expression cost a few ms.
var versionRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9.+~:_-]*$`)

// baseName is the name a package is kept under: the last element of the
// name it was pushed as, or one made from its metadata.
func baseName(filename string, p *meta.Package) string {
	if name := path.Base(strings.ReplaceAll(filename, "\\", "/")); name != "." && name != "/" && name != ".." && name != "" {
		return name
	}
	switch p.Format {
	case meta.FormatDeb:
		return path.Base(apt.PoolPath(p.Name, p.Version, p.Arch, p.SHA256))
	case meta.FormatFile:
		return p.Name
	}
	return p.Name + "-" + p.Version + "." + p.Arch + "." + p.Format
}

func controlText(p control.Paragraph) string {
	return strings.TrimSuffix(string(p.AppendTo(nil)), "\n")
}

func (c Checksums) normalize() (Checksums, error) {
	lengths := []struct {
		name string
		v    *string
		n    int
	}{{"SHA-256", &c.SHA256, 64}, {"MD5", &c.MD5, 32}, {"SHA-1", &c.SHA1, 40}, {"SHA-512", &c.SHA512, 128}}
	for _, l := range lengths {
		*l.v = strings.ToLower(strings.TrimSpace(*l.v))
		if *l.v == "" {
			continue
		}
		if _, err := hex.DecodeString(*l.v); err != nil || len(*l.v) != l.n {
			return c, fmt.Errorf("claimed %s %q is not %d hex digits: %w", l.name, *l.v, l.n, ErrInvalidName)
		}
	}
	return c, nil
}

// check compares claimed sums with computed ones.
func (c Checksums) check(got Checksums) error {
	pairs := []struct{ name, claimed, got string }{
		{"SHA-256", c.SHA256, got.SHA256}, {"MD5", c.MD5, got.MD5}, {"SHA-1", c.SHA1, got.SHA1}, {"SHA-512", c.SHA512, got.SHA512},
	}
	for _, p := range pairs {
		if p.claimed != "" && p.claimed != p.got {
			return fmt.Errorf("%s of the body is %s, not the claimed %s: %w", p.name, p.got, p.claimed, ErrChecksumMismatch)
		}
	}
	return nil
}

// target finds the project pushed to and checks the branch name.
func (s *Service) target(ctx context.Context, project, branch string) (meta.Project, error) {
	if err := ValidName("project", project); err != nil {
		return meta.Project{}, err
	}
	if err := ValidBranch(branch); err != nil {
		return meta.Project{}, err
	}
	p, err := s.meta.Project(ctx, project)
	if err == nil {
		s.guessFor(branch)
	}
	return p, err
}

func linkResult(r meta.LinkResult) (PushResult, error) {
	switch r.Status {
	case meta.Missing:
		return PushResult{Status: r.Status}, fmt.Errorf("no package with this SHA-256 is stored; send the body: %w", ErrBlobUnknown)
	case meta.Conflict:
		e := r.Existing
		return PushResult{Status: r.Status, Package: r.Package}, fmt.Errorf("branch already has %s %s (%s) with other bytes (SHA-256 %s); push with replace to swap it: %w",
			e.Name, e.Version, e.Arch, e.SHA256, ErrConflict)
	}
	return PushResult{Status: r.Status, Package: r.Package}, nil
}

// Deploy adds a package the server already holds to a branch, by SHA-256:
// the checksum-first half of a push. ErrBlobUnknown means: send the body.
func (s *Service) Deploy(ctx context.Context, project, branch, sha256 string, replace bool) (PushResult, error) {
	p, err := s.target(ctx, project, branch)
	if err != nil {
		return PushResult{}, err
	}
	sums, err := Checksums{SHA256: sha256}.normalize()
	if err != nil || sums.SHA256 == "" {
		return PushResult{}, fmt.Errorf("X-Checksum-Sha256 must be 64 hex digits: %w", ErrInvalidName)
	}
	res, err := s.linker.link(ctx, meta.LinkRequest{ProjectID: p.ID, Branch: branch, SHA256: sums.SHA256, Replace: replace})
	if err != nil {
		return PushResult{}, err
	}
	s.warm.changed(p, branch, []meta.LinkResult{res})
	return linkResult(res)
}

// MaxCheck is the most entries one PushCheck takes.
const MaxCheck = 10000

// CheckResult is one entry of a PushCheck.
type CheckResult struct {
	SHA256 string
	PushResult
	Err error
}

// PushCheck links every package of shas the server holds into the branch,
// in one transaction, and says which ones it lacks. Which are held is
// read first: a push of packages that are all new, the usual case in CI,
// takes no write lock until their bodies arrive.
func (s *Service) PushCheck(ctx context.Context, project, branch string, shas []string, replace bool) ([]CheckResult, error) {
	p, err := s.target(ctx, project, branch)
	if err != nil {
		return nil, err
	}
	if len(shas) > MaxCheck {
		return nil, fmt.Errorf("%d entries, at most %d per request: %w", len(shas), MaxCheck, ErrTooLarge)
	}
	reqs := make([]meta.LinkRequest, len(shas))
	normal := make([]string, len(shas))
	for i, sha := range shas {
		sums, err := Checksums{SHA256: sha}.normalize()
		if err != nil || sums.SHA256 == "" {
			return nil, fmt.Errorf("entry %d: sha256 must be 64 hex digits: %w", i, ErrInvalidName)
		}
		normal[i] = sums.SHA256
		reqs[i] = meta.LinkRequest{ProjectID: p.ID, Branch: branch, SHA256: sums.SHA256, Replace: replace}
	}
	stored, err := s.meta.HasPackages(ctx, normal)
	if err != nil {
		return nil, err
	}
	// A package stored after this read is missing to the client, whose
	// upload then finds it stored; one gone before Link is missing
	// after all.
	results := make([]meta.LinkResult, len(reqs))
	var link []meta.LinkRequest
	var at []int
	for i, r := range reqs {
		if stored[r.SHA256] {
			link, at = append(link, r), append(at, i)
		} else {
			results[i] = meta.LinkResult{Status: meta.Missing}
		}
	}
	if len(link) > 0 {
		linked, err := s.meta.Link(ctx, link)
		if err != nil {
			return nil, err
		}
		for k, r := range linked {
			results[at[k]] = r
		}
		s.warm.changed(p, branch, linked)
	}
	out := make([]CheckResult, len(results))
	for i, r := range results {
		out[i].SHA256 = reqs[i].SHA256
		out[i].PushResult, out[i].Err = linkResult(r)
		if errors.Is(out[i].Err, ErrBlobUnknown) {
			out[i].Err = nil // missing is an answer, not a failure
		}
	}
	return out, nil
}

// RemovePackage takes a package out of a branch. The package and its bytes
// stay while anything else refers to them.
func (s *Service) RemovePackage(ctx context.Context, project, branch, sha256 string) error {
	p, err := s.target(ctx, project, branch)
	if err != nil {
		return err
	}
	return s.meta.Unlink(ctx, p.ID, branch, strings.ToLower(sha256))
}

// ManyEntry is one package of a PushMany stream.
type ManyEntry struct {
	SHA256   string // claimed; checked against the bytes
	Size     int64
	Filename string
	Plain    *Plain
	Body     io.Reader
}

// pushGroup is how many packages of a PushMany stream are committed
// together: one flush of the blob store and one transaction each.
const pushGroup = 256

// PushMany stores packages that arrive one after another in one stream,
// and adds them to a branch. Each package is read once, as Push reads one;
// they are committed in groups, which makes pushing thousands of small
// packages cost a few flushes to disk instead of several per package. A
// bad package fails alone; a broken stream fails the call.
func (s *Service) PushMany(ctx context.Context, project, branch string, replace bool, next func() (ManyEntry, error)) ([]CheckResult, error) {
	p, err := s.target(ctx, project, branch)
	if err != nil {
		return nil, err
	}
	type pending struct {
		i   int
		pkg *meta.Package
		w   blob.Writer
	}
	var results []CheckResult
	var group []pending
	var all []meta.LinkResult // of every group committed, even if a later one fails
	defer func() { s.warm.changed(p, branch, all) }()
	defer func() {
		for _, pd := range group {
			pd.w.Cancel(ctx)
		}
	}()
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		ws := make([]blob.Writer, len(group))
		want := make([]blob.Digest, len(group))
		for k, pd := range group {
			ws[k], want[k] = pd.w, pd.w.Digest()
		}
		errs := blob.CommitGroup(ctx, s.blobs, ws, want)
		var reqs []meta.LinkRequest
		var idx []int
		for k, pd := range group {
			if errs[k] != nil {
				results[pd.i].Err = fmt.Errorf("store package: %w", errs[k])
				continue
			}
			reqs = append(reqs, meta.LinkRequest{ProjectID: p.ID, Branch: branch, New: pd.pkg, Replace: replace})
			idx = append(idx, pd.i)
		}
		group = group[:0]
		linked, err := s.meta.Link(ctx, reqs)
		if err != nil {
			return err
		}
		all = append(all, linked...)
		for k, r := range linked {
			results[idx[k]].PushResult, results[idx[k]].Err = linkResult(r)
		}
		return nil
	}
	for {
		e, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("receive packages: %w", err)
		}
		if len(results) >= MaxCheck {
			return nil, fmt.Errorf("more than %d packages in one request: %w", MaxCheck, ErrTooLarge)
		}
		i := len(results)
		results = append(results, CheckResult{SHA256: e.SHA256})
		if e.Size > s.cfg.MaxPackageSize {
			results[i].Err = fmt.Errorf("package of %d bytes exceeds the limit of %d: %w", e.Size, s.cfg.MaxPackageSize, ErrTooLarge)
			continue
		}
		claimed, err := Checksums{SHA256: e.SHA256}.normalize()
		if err != nil || claimed.SHA256 == "" {
			results[i].Err = fmt.Errorf("entry %d: name the entry by its SHA-256: %w", i, ErrInvalidName)
			continue
		}
		pkg, w, err := s.ingest(ctx, e.Body, claimed, e.Filename, e.Plain)
		if err != nil {
			if w != nil {
				w.Cancel(ctx)
			}
			if !badPackage(err) {
				return nil, err
			}
			results[i].Err = err
			continue
		}
		pkg.Filename = baseName(e.Filename, pkg)
		group = append(group, pending{i, pkg, w})
		if len(group) >= pushGroup {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return results, nil
}

// badPackage tells a package the server refuses from a failure to read it.
func badPackage(err error) bool {
	for _, e := range []error{ErrInvalidPackage, ErrTooLarge, ErrChecksumMismatch, ErrInvalidName} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
