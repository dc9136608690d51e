package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/lazyre"
	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/sign"
)

// Domain errors; the HTTP layer maps them to status codes in one table.
var (
	ErrInvalidName      = errors.New("invalid name")
	ErrInvalidPackage   = errors.New("invalid package")
	ErrTooLarge         = errors.New("too large")
	ErrChecksumMismatch = errors.New("checksum mismatch")
	ErrBlobUnknown      = errors.New("blob unknown")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrForbidden        = errors.New("forbidden")
	ErrNotFound         = meta.ErrNotFound
	ErrConflict         = meta.ErrConflict
	ErrExists           = meta.ErrExists
	// ErrAmbiguous: the request names more than one thing.
	ErrAmbiguous = errors.New("ambiguous")
)

// Config holds the knobs of a Service. The zero value of a field means its
// default.
type Config struct {
	// MaxPackageSize bounds one uploaded package (default 8 GiB).
	MaxPackageSize int64
	// ReleaseValidity is how long a signed Release stays valid (default 7
	// days); it is re-signed when less than a quarter of that is left.
	ReleaseValidity time.Duration
	// IndexGrace is how long index files that a newer Release no longer
	// names are still served by hash (default 24 h).
	IndexGrace time.Duration
	// LazyPublish leaves views to be published when they are first read
	// after a change; by default a push publishes its branch's views at
	// once, in the background.
	LazyPublish bool
	// GuessDelay is how long a branch's views go without a new build
	// before the guesses of their next builds are hashed (default 50 ms;
	// negative: only when a push to the branch starts). See guessBook.
	GuessDelay time.Duration
	// Origin is the Origin field of Release files (default "packhouse").
	Origin string
	Logger *slog.Logger
	Now    func() time.Time
}

func (c *Config) defaults() {
	if c.MaxPackageSize == 0 {
		c.MaxPackageSize = 8 << 30
	}
	if c.ReleaseValidity == 0 {
		c.ReleaseValidity = 7 * 24 * time.Hour
	}
	if c.IndexGrace == 0 {
		c.IndexGrace = 24 * time.Hour
	}
	if c.GuessDelay == 0 {
		c.GuessDelay = 50 * time.Millisecond
	}
	if c.Origin == "" {
		c.Origin = "packhouse"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Service is packhouse's server-side logic over a metadata store, a blob
// store and a signing key.
type Service struct {
	meta  meta.Store
	blobs blob.Store
	key   *sign.Key
	cfg   Config
	log   *slog.Logger

	linker *linker
	warm   *warmer

	// Views being published, one lock per repository and suite.
	publishing sync.Map // string → *sync.Mutex
	sets       setCache
	chunks     chunkCache
	// rendered counts the packages written into new chunks.
	rendered atomic.Int64
	hashes   hashCache
	// sumSlots bounds the index files hashed at once, by all builds.
	sumSlots chan struct{}
	// guessed has the views' guesses; guessing is held while they are
	// hashed, guessSlots by each file being hashed.
	guessed    guessBook
	guessing   chan struct{}
	guessSlots chan struct{}
	// closing is closed by Close.
	closing   chan struct{}
	closeOnce sync.Once
	layouts   layouts
	tokens    tokenCache
}

// New returns a Service. Close stops its background work.
func New(m meta.Store, b blob.Store, key *sign.Key, cfg Config) *Service {
	cfg.defaults()
	s := &Service{meta: m, blobs: b, key: key, cfg: cfg, log: cfg.Logger}
	s.linker = newLinker(m)
	s.warm = newWarmer(s)
	s.sets.init()
	s.chunks.init()
	s.hashes.init()
	s.sumSlots = make(chan struct{}, runtime.GOMAXPROCS(0))
	s.guessing = make(chan struct{}, 1)
	s.closing = make(chan struct{})
	s.guessSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))
	s.layouts.init()
	return s
}

// Close stops background work; in-flight calls finish first.
func (s *Service) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.warm.close()
	s.linker.close()
}

// Key is the repository signing key.
func (s *Service) Key() *sign.Key { return s.key }

// Meta is the metadata store, for read-only listings.
func (s *Service) Meta() meta.Store { return s.meta }

// Blobs is the blob store.
func (s *Service) Blobs() blob.Store { return s.blobs }

// Config is the configuration the service runs with, defaults applied.
func (s *Service) Config() Config { return s.cfg }

var nameRE = lazyre.New(`^[a-z0-9][a-z0-9._-]*$`) // and at most 64 (see versionRE)

// ValidName checks a project or repository name: lower case letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 64.
func ValidName(kind, name string) error {
	if len(name) > 64 || !nameRE.MatchString(name) {
		return fmt.Errorf("%s name %q: use 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit: %w", kind, name, ErrInvalidName)
	}
	return nil
}

// ValidBranch checks a branch name by git's rules for ref names
// (git-check-ref-format), which also keeps it safe in URLs and paths.
func ValidBranch(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("branch name %q: %s: %w", name, why, ErrInvalidName)
	}
	switch {
	case name == "" || len(name) > 200:
		return bad("must be 1 to 200 bytes")
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return bad("empty path component")
	case strings.Contains(name, "..") || strings.Contains(name, "@{") || name == "@":
		return bad(`contains ".." or "@{"`)
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock"):
		return bad(`ends with "." or ".lock"`)
	case strings.HasPrefix(name, "-"):
		return bad(`starts with "-"`)
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return bad(`a component starts with "."`)
		}
	}
	return nil
}

// CreateProject makes a project with its default branch and adds it to
// repositories, creating those that do not exist.
func (s *Service) CreateProject(ctx context.Context, name, defaultBranch string, repos []string) (meta.Project, error) {
	if err := ValidName("project", name); err != nil {
		return meta.Project{}, err
	}
	if err := ValidBranch(defaultBranch); err != nil {
		return meta.Project{}, err
	}
	for _, r := range repos {
		if err := ValidName("repository", r); err != nil {
			return meta.Project{}, err
		}
	}
	p, err := s.meta.CreateProject(ctx, name, defaultBranch)
	if err != nil {
		return p, err
	}
	for _, r := range repos {
		if err := s.AddToRepository(ctx, r, name, true); err != nil {
			return p, err
		}
	}
	return p, nil
}

// CreateRepository makes a repository of the given projects.
func (s *Service) CreateRepository(ctx context.Context, name string, projects, archs []string) (meta.Repository, error) {
	if err := ValidName("repository", name); err != nil {
		return meta.Repository{}, err
	}
	for _, a := range archs {
		if !validArch(a) || a == "all" {
			return meta.Repository{}, fmt.Errorf("architecture %q: %w", a, ErrInvalidName)
		}
	}
	if _, err := s.meta.CreateRepository(ctx, name, archs); err != nil {
		return meta.Repository{}, err
	}
	for _, p := range projects {
		if err := s.meta.AddRepositoryProject(ctx, name, p); err != nil {
			return meta.Repository{}, err
		}
	}
	return s.meta.Repository(ctx, name)
}

// AddToRepository adds a project to a repository, creating the repository
// if create is set and it does not exist.
func (s *Service) AddToRepository(ctx context.Context, repo, project string, create bool) error {
	if create {
		if _, err := s.meta.CreateRepository(ctx, repo, nil); err != nil && !errors.Is(err, meta.ErrExists) {
			return err
		}
	}
	return s.meta.AddRepositoryProject(ctx, repo, project)
}

var archRE = lazyre.New(`^[a-z0-9][a-z0-9-]*$`)

// validArch checks an architecture name: 1 to 32 of a-z, 0-9 and '-',
// starting with a letter or digit.
func validArch(a string) bool { return len(a) <= 32 && archRE.MatchString(a) }
