// Package apt writes the metadata of a Debian (apt) repository: Packages
// stanzas and Release files. It is pure: metadata in, bytes out.
package apt

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Package is what a Packages stanza is made of: the package's own control
// paragraph and where and what its file is.
type Package struct {
	Control  string // deb822, without the fields below and without a trailing newline
	Filename string // path from the repository root
	Size     int64
	MD5      string
	SHA1     string
	SHA256   string
}

// AppendStanza appends p's stanza, followed by the blank line that ends
// it. It is on the path of every index build, so it only appends.
func AppendStanza(b []byte, p *Package) []byte {
	b = append(b, p.Control...)
	b = append(b, "\nFilename: "...)
	b = append(b, p.Filename...)
	b = append(b, "\nSize: "...)
	b = strconv.AppendInt(b, p.Size, 10)
	b = append(b, "\nMD5sum: "...)
	b = append(b, p.MD5...)
	b = append(b, "\nSHA1: "...)
	b = append(b, p.SHA1...)
	b = append(b, "\nSHA256: "...)
	b = append(b, p.SHA256...)
	return append(b, "\n\n"...)
}

// IndexFields are the fields a Packages stanza gets from the repository,
// which a package's own control file must not carry.
var IndexFields = []string{"Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512", "Description-md5"}

// PoolPath is where a package's file is served, relative to the
// repository root. The SHA-256 in the path makes every pool URL immutable,
// so that caches may keep it forever, and lets two packages with the same
// name and version but other bytes live side by side (one per branch).
func PoolPath(name, version, arch, sha256 string) string {
	// Debian leaves the epoch out of file names.
	if i := strings.IndexByte(version, ':'); i >= 0 {
		version = version[i+1:]
	}
	return "pool/" + sha256[:2] + "/" + sha256 + "/" + name + "_" + version + "_" + arch + ".deb"
}

// File is one index file listed in a Release file.
type File struct {
	Path   string // relative to the Release file's directory
	Size   int64
	SHA256 string
}

// Release is the content of a Release file.
type Release struct {
	Origin        string
	Label         string
	Suite         string
	Codename      string
	Description   string
	Date          time.Time
	ValidUntil    time.Time
	Architectures []string
	Components    []string
	Files         []File
}

// dateFormat is RFC 2822 in UTC, as apt and dak write it.
const dateFormat = "Mon, 02 Jan 2006 15:04:05 UTC"

// Bytes renders the Release file. Only SHA256 sums are listed: apt has
// required SHA256 since 1.1, and by-hash uses the strongest sum listed.
func (r *Release) Bytes() []byte {
	var b strings.Builder
	field := func(name, value string) {
		if value != "" {
			b.WriteString(name + ": " + value + "\n")
		}
	}
	field("Origin", r.Origin)
	field("Label", r.Label)
	field("Suite", r.Suite)
	field("Codename", r.Codename)
	field("Date", r.Date.UTC().Format(dateFormat))
	field("Valid-Until", r.ValidUntil.UTC().Format(dateFormat))
	field("Architectures", strings.Join(r.Architectures, " "))
	field("Components", strings.Join(r.Components, " "))
	field("Description", r.Description)
	b.WriteString("Acquire-By-Hash: yes\n")
	files := append([]File(nil), r.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	width := 0
	for _, f := range files {
		width = max(width, len(strconv.FormatInt(f.Size, 10)))
	}
	b.WriteString("SHA256:\n")
	for _, f := range files {
		size := strconv.FormatInt(f.Size, 10)
		b.WriteString(" " + f.SHA256 + " " + strings.Repeat(" ", width-len(size)) + size + " " + f.Path + "\n")
	}
	return []byte(b.String())
}
