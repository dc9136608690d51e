// Package meta defines packhouse's metadata: projects, branches,
// repositories, packages, tokens and published indexes, and the Store that
// keeps them. The source of truth is SQL (sqlmeta, on SQLite or PostgreSQL);
// blobs live elsewhere (package blob).
package meta

import (
	"context"
	"errors"
	"time"
)

var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrExists   = errors.New("already exists")
)

type Project struct {
	ID            int64
	Name          string
	DefaultBranch string
	Created       time.Time
}

type Repository struct {
	ID            int64
	Name          string
	Architectures []string // always offered, beside those the packages bring
	Projects      []string // project names, sorted
	Created       time.Time
}

type Branch struct {
	ID        int64
	ProjectID int64
	Name      string
	// Gen counts changes to the branch; every change appends to its log.
	Gen      int64
	Packages int64
	Created  time.Time
	Updated  time.Time
}

// Package is one uploaded package file, parsed. Immutable.
type Package struct {
	ID      int64
	SHA256  string // hex
	Size    int64
	MD5     string
	SHA1    string
	SHA512  string
	Format  string // one of the Format constants
	Name    string
	Version string
	Arch    string // in the format's own naming: amd64, x86_64, noarch, any, ...
	// Control is what the indexes need of the package. For a deb it is
	// its own control paragraph, as it was in the package (deb822, no
	// trailing newline); for other formats it is the format's metadata as
	// JSON (see package service).
	Control  string
	Filename string // base name it was pushed as
	Created  time.Time
}

// Package formats. Each is served by its own kind of repository; a
// branch's package hides another's only within one format.
const (
	FormatDeb  = "deb"
	FormatRPM  = "rpm"
	FormatArch = "arch"
	FormatAPK  = "apk"
	FormatFile = "file" // any other file, named and versioned by its pusher
)

// Entry is a package as a member of a branch: what views are made of.
type Entry struct {
	PackageID int64
	SHA256    string
	Format    string
	Name      string
	Version   string
	Arch      string
}

// LogEntry is one change to a branch.
type LogEntry struct {
	Gen     int64
	Added   bool
	Entry   Entry
	Removed time.Time
}

// BranchRef names one branch at one generation.
type BranchRef struct {
	ID  int64
	Gen int64
}

// Source is one project's contribution to a view: its default branch and,
// when the view's branch exists in the project, that branch as an overlay.
type Source struct {
	ProjectID     int64
	Project       string
	DefaultBranch string
	Default       *BranchRef // nil when the default branch has no packages yet
	Overlay       *BranchRef // nil when the view is the default branch or the branch does not exist
}

// LinkStatus says what Link did with one package.
type LinkStatus string

const (
	Linked   LinkStatus = "linked"   // known bytes, added to the branch
	Stored   LinkStatus = "stored"   // new package, recorded and added
	Present  LinkStatus = "exists"   // the branch already had it
	Missing  LinkStatus = "missing"  // no package with that SHA-256 is stored
	Conflict LinkStatus = "conflict" // same name, version, arch, other bytes
)

// LinkRequest adds a package to a branch. Either New is set (a package just
// ingested, recorded if it is not yet) or SHA256 names a stored one.
type LinkRequest struct {
	ProjectID int64
	Branch    string
	SHA256    string
	New       *Package
	Replace   bool
}

type LinkResult struct {
	Status  LinkStatus
	Package Package
	// Existing is the package in the way, for Conflict.
	Existing *Package
}

type TokenKind string

const (
	TokenAdmin  TokenKind = "admin"
	TokenUpload TokenKind = "upload"
	TokenRead   TokenKind = "read"
)

type Token struct {
	ID          int64
	Hash        string // SHA-256 of the secret, hex; the secret itself is never stored
	Kind        TokenKind
	Projects    []string // upload: the projects it may push to; empty = none
	Description string
	Created     time.Time
}

// Publication is the signed state of one view in one format, and what it
// was made from.
type Publication struct {
	RepositoryID int64
	Format       string
	Suite        string // the branch name the view is of
	// Inputs identifies the branch generations the indexes were made from.
	Inputs string
	// Content identifies the index files' bytes: when a new build has the
	// same, the publication keeps its date and signatures.
	Content    string
	Date       time.Time
	ValidUntil time.Time
	// Files are the publication's small signed files, by path: apt's
	// Release, InRelease and Release.gpg; rpm-md's repomd.xml and its
	// signature; pacman's database signatures. They switch with the
	// publication, atomically.
	Files map[string][]byte
}

// IndexFile is a published index file, stored as a sequence of chunks so
// that one change rewrites one chunk. A publication's signed files list it
// by SHA-256; earlier ones stay, by hash, for a grace period.
type IndexFile struct {
	RepositoryID int64
	Format       string
	Suite        string
	Path         string // relative to the view: "main/binary-amd64/Packages.gz", "repodata/...-primary.xml.gz"
	SHA256       string
	Size         int64
	Gzip         bool     // made of the chunks' gzip members, not their plain text
	Chunks       []string // chunk keys, in order
	Published    time.Time
}

// Chunk is the index text made from one run of packages, plain and as one
// gzip member (gzip readers read concatenated members as one stream). A
// chunk with a gzip member may be stored with Raw empty: its plain text is
// then the member's decompression.
type Chunk struct {
	Key string // SHA-256 over the format and the member packages' IDs
	Raw []byte
	Gz  []byte
}

// Store keeps metadata. Every method is one transaction.
type Store interface {
	Close() error

	CreateProject(ctx context.Context, name, defaultBranch string) (Project, error)
	Project(ctx context.Context, name string) (Project, error)
	Projects(ctx context.Context) ([]Project, error)

	CreateRepository(ctx context.Context, name string, archs []string) (Repository, error)
	AddRepositoryProject(ctx context.Context, repo, project string) error
	Repository(ctx context.Context, name string) (Repository, error)
	Repositories(ctx context.Context) ([]Repository, error)

	Branches(ctx context.Context, projectID int64) ([]Branch, error)
	// Sources resolves the view of a repository at a branch name.
	Sources(ctx context.Context, repositoryID int64, branch string) ([]Source, error)
	// Entries lists a branch's packages and the generation they are at.
	Entries(ctx context.Context, branchID int64) ([]Entry, int64, error)
	// Log lists changes to a branch after generation since. It returns
	// ErrNotFound when the log no longer reaches back that far.
	Log(ctx context.Context, branchID, since int64) ([]LogEntry, error)

	PackageBySHA256(ctx context.Context, sha256 string) (Package, error)
	// HasPackages reports which of the SHA-256s are stored packages.
	HasPackages(ctx context.Context, sha256s []string) (map[string]bool, error)
	PackagesByID(ctx context.Context, ids []int64) ([]Package, error)
	// BranchPackages lists the packages of a project's branch.
	BranchPackages(ctx context.Context, projectID int64, branch string) ([]Package, error)
	// Link applies many requests in one transaction; each gets a result.
	Link(ctx context.Context, reqs []LinkRequest) ([]LinkResult, error)
	Unlink(ctx context.Context, projectID int64, branch, sha256 string) error

	CreateToken(ctx context.Context, t Token) (Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, error)
	Tokens(ctx context.Context) ([]Token, error)
	DeleteToken(ctx context.Context, id int64) error

	// Publication returns a view's publication in a format, with its
	// signed files.
	Publication(ctx context.Context, repositoryID int64, format, suite string) (Publication, error)
	// Publish records a new publication, its index files and the chunks
	// they use that are not stored yet, in one transaction. It fails with
	// ErrConflict when the stored publication's date is later than
	// p.Date, so that Date never goes backwards. Index files of earlier
	// publications stay until they are older than prune.
	Publish(ctx context.Context, p Publication, files []IndexFile, chunks []Chunk, prune time.Time) error
	// IndexFile is a current or earlier index file of a view whose path
	// starts with dir, by its SHA-256.
	IndexFile(ctx context.Context, repositoryID int64, format, suite, dir, sha256 string) (IndexFile, error)
	// CurrentIndexFile is the index file at path in the latest publication.
	CurrentIndexFile(ctx context.Context, repositoryID int64, format, suite, path string) (IndexFile, error)
	// HasChunks reports which of keys are stored.
	HasChunks(ctx context.Context, keys []string) (map[string]bool, error)
	// ChunkData returns the plain or gzip bytes of chunks, by key.
	ChunkData(ctx context.Context, keys []string, gzip bool) (map[string][]byte, error)
}
