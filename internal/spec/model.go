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
	TypeGhost                           // rpm %ghost: owned, not in the payload; only rpm packages get these
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

	// Implicit marks a parent directory that is listed only so that the
	// archive creates it; the package does not own it (rpm leaves it out
	// of the file list, nfpm's "implicit dir").
	Implicit bool
}

// UnixMode is the entry's mode as stat(2) and tar headers spell it: the
// file type bits, then setuid/setgid/sticky, then the permissions. (Mode
// itself holds only permissions and fs.ModeSetuid/ModeSetgid/ModeSticky.)
func (c *Content) UnixMode() uint32 {
	m := uint32(c.Mode.Perm())
	if c.Mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if c.Mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if c.Mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	switch c.Type {
	case TypeDir:
		m |= 0o040000
	case TypeSymlink:
		m |= 0o120000
	default:
		m |= 0o100000
	}
	return m
}

// Scripts are maintainer scripts, as file contents (not paths).
type Scripts struct {
	PreInstall, PostInstall, PreRemove, PostRemove string

	PreUpgrade, PostUpgrade string // apk and archlinux only
	PreTrans, PostTrans     string // rpm only
	Verify                  string // rpm only
	// Interpreters maps a script ("preinstall", "pretrans", …) to the
	// interpreter rpm should run it with (rpm.interpreters); rpm only.
	Interpreters map[string]string

	Templates, Config string // deb: debconf templates and config script
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

	// VersionMetadata is semver build metadata ("git" in 1.2.3+git);
	// FullVersion says where each format puts it.
	VersionMetadata string

	// Packager names who built the package (rpm Packager, Arch packager);
	// the maintainer when the spec gives none.
	Packager string
	// Pkgbase is Arch's pkgbase; the name when the spec gives none.
	Pkgbase string
	// BuildHost is rpm's build host; "packhouse" when the spec gives none,
	// so that builds do not depend on the machine.
	BuildHost string
	// Prefixes are rpm's relocation prefixes.
	Prefixes []string
	// PreDepends are deb's Pre-Depends.
	PreDepends []string
	// Fields are extra deb control fields (deb.fields), sorted by name.
	Fields []Field
	// Triggers is deb's triggers control file, ready to write ("" for none).
	Triggers string
	// SigningKeyName is the name apk stores the signature under
	// (.SIGN.RSA256.<name>), from apk.signature.key_name.
	SigningKeyName string
	// SigningKeyFile is the private key the format's signature section
	// names (apk.signature.key_file: PEM RSA; rpm.signature.key_file:
	// OpenPGP), resolved against the spec's directory.
	SigningKeyFile string
}

// Field is one extra control field.
type Field struct{ Name, Value string }
