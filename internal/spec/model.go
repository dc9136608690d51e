// Package spec reads packhouse's package spec (nfpm.yaml compatible) and
// resolves it, per format and architecture, into Package: the neutral model
// every format writer (deb, rpm, apk, arch, archive) builds from.
package spec

import (
	"io/fs"
	"time"
)

// FileType says how a Content is installed.
type FileType int

const (
	TypeFile            FileType = iota // a regular file copied from Source
	TypeConfig                          // a configuration file (deb conffile, rpm %config)
	TypeConfigNoReplace                 // rpm %config(noreplace); deb treats it as a conffile
	TypeDir                             // an (empty or owned) directory
	TypeSymlink                         // a symbolic link to Target
)

// Content is one entry of the package payload, already expanded: trees are
// walked into files and directories, globs resolved, parents listed.
type Content struct {
	Type        FileType
	Source      string // path on the build machine (TypeFile, TypeConfig*)
	Destination string // absolute, cleaned, no "..": "/usr/bin/hello"
	Target      string // TypeSymlink: the link's target, verbatim
	Mode        fs.FileMode
	Owner       string // "root" when not set
	Group       string
	MTime       time.Time // SOURCE_DATE_EPOCH or the spec's mtime, never the build time
	Size        int64     // TypeFile/TypeConfig*: size of Source, read at resolve time
}

// Scripts are maintainer scripts, as file contents (not paths).
type Scripts struct {
	PreInstall, PostInstall, PreRemove, PostRemove string
}

// Package is one package to write: one format, one architecture.
type Package struct {
	Name        string
	Epoch       string
	Version     string // upstream version, with version_schema applied
	Release     string // rpm Release / deb revision / apk pkgrel / arch pkgrel
	Prerelease  string
	Arch        string // in the target format's own naming (x86_64, amd64, aarch64, armhf, …)
	Platform    string // "linux"
	Maintainer  string
	Summary     string // first line of the description
	Description string // the rest (may be empty)
	Vendor      string
	Homepage    string
	License     string
	Section     string // deb section / rpm group
	Priority    string

	Depends, Recommends, Suggests, Conflicts, Replaces, Provides, Breaks []string

	Contents []Content // sorted by Destination
	Scripts  Scripts

	// BuildTime is used wherever a format records when it was built; it
	// comes from SOURCE_DATE_EPOCH so that builds are reproducible.
	BuildTime time.Time

	// Compression is the payload compression the spec asked for ("gzip",
	// "xz", "zstd", "none"), empty for the format's default.
	Compression string
	// CompressionLevel is 0 for the format's default.
	CompressionLevel int
}
