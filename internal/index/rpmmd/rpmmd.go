package rpmmd

import (
	"strconv"
	"strings"
)

// Dep is one entry of a dependency list (provides, requires, ...).
type Dep struct {
	Name string
	// Flags is "", "EQ", "LT", "LE", "GT" or "GE". A rich dependency,
	// "(a or b)", is carried whole in Name with Flags "".
	Flags string
	Epoch string // "" is written as "0" when Ver is set, as createrepo_c does
	Ver   string
	Rel   string
	Pre   bool // Requires(pre) and friends; written only for requires
}

// File is one path a package owns.
type File struct {
	Path string
	Type string // "" for a regular file, "dir" or "ghost"
}

// Changelog is one changelog entry.
type Changelog struct {
	Author string // as rpm stores it, version suffix included
	Date   int64  // Unix time
	Text   string
}

// Package is what rpm-md says about one rpm.
type Package struct {
	Name, Arch               string
	Epoch, Version, Release  string // Epoch "" is written as "0"
	SHA256                   string // of the package file: rpm-md's pkgid
	Summary, Description     string
	Packager, URL, License   string
	Vendor, Group, BuildHost string
	SourceRPM                string
	FileTime, BuildTime      int64 // Unix time
	PackageSize              int64 // of the package file
	InstalledSize            int64
	ArchiveSize              int64  // of the uncompressed cpio payload
	Location                 string // href relative to the repository root
	HeaderStart, HeaderEnd   int64  // byte range of the rpm header, for partial downloads

	Provides, Requires, Conflicts, Obsoletes    []Dep
	Recommends, Suggests, Supplements, Enhances []Dep

	Files []File
	// Changelogs are written in the order given; createrepo_c writes the
	// oldest first, the reverse of rpm's header.
	Changelogs []Changelog
}

// Namespaces and document heads as createrepo_c 0.17 writes them.
const (
	xmlDecl     = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	nsCommon    = "http://linux.duke.edu/metadata/common"
	nsRPM       = "http://linux.duke.edu/metadata/rpm"
	nsFilelists = "http://linux.duke.edu/metadata/filelists"
	nsOther     = "http://linux.duke.edu/metadata/other"
	nsRepo      = "http://linux.duke.edu/metadata/repo"
)

// PrimaryHeader is the start of primary.xml for count packages.
func PrimaryHeader(count int) []byte {
	return header(`<metadata xmlns="`+nsCommon+`" xmlns:rpm="`+nsRPM+`" packages="`, count)
}

// PrimaryFooter ends primary.xml. Like createrepo_c's, it has no final
// newline.
func PrimaryFooter() []byte { return []byte("</metadata>") }

// FilelistsHeader is the start of filelists.xml for count packages.
func FilelistsHeader(count int) []byte {
	return header(`<filelists xmlns="`+nsFilelists+`" packages="`, count)
}

// FilelistsFooter ends filelists.xml.
func FilelistsFooter() []byte { return []byte("</filelists>") }

// OtherHeader is the start of other.xml for count packages.
func OtherHeader(count int) []byte {
	return header(`<otherdata xmlns="`+nsOther+`" packages="`, count)
}

// OtherFooter ends other.xml.
func OtherFooter() []byte { return []byte("</otherdata>") }

func header(open string, count int) []byte {
	b := make([]byte, 0, len(xmlDecl)+len(open)+16)
	b = append(b, xmlDecl...)
	b = append(b, open...)
	b = strconv.AppendInt(b, int64(count), 10)
	return append(b, "\">\n"...)
}

// AppendPrimary appends p's <package> element of primary.xml, as
// createrepo_c's cr_xml_dump_primary writes it (xml_dump_primary.c),
// followed by a newline. It runs for every package of every index build,
// so it only appends.
func AppendPrimary(b []byte, p *Package) []byte {
	b = append(b, "<package type=\"rpm\">\n"...)
	b = textElem(b, "  ", "name", p.Name)
	b = textElem(b, "  ", "arch", p.Arch)
	b = appendVersion(b, "  ", p)
	b = append(b, "  <checksum type=\"sha256\" pkgid=\"YES\">"...)
	b = appendEscaped(b, p.SHA256, text)
	b = append(b, "</checksum>\n"...)
	b = textElem(b, "  ", "summary", p.Summary)
	b = textElem(b, "  ", "description", p.Description)
	b = textElem(b, "  ", "packager", p.Packager)
	b = textElem(b, "  ", "url", p.URL)
	b = append(b, "  <time file=\""...)
	b = strconv.AppendInt(b, p.FileTime, 10)
	b = append(b, "\" build=\""...)
	b = strconv.AppendInt(b, p.BuildTime, 10)
	b = append(b, "\"/>\n  <size package=\""...)
	b = strconv.AppendInt(b, p.PackageSize, 10)
	b = append(b, "\" installed=\""...)
	b = strconv.AppendInt(b, p.InstalledSize, 10)
	b = append(b, "\" archive=\""...)
	b = strconv.AppendInt(b, p.ArchiveSize, 10)
	b = append(b, "\"/>\n  <location href=\""...)
	b = appendEscaped(b, p.Location, attr)
	b = append(b, "\"/>\n  <format>\n"...)
	b = textElem(b, "    ", "rpm:license", p.License)
	b = textElem(b, "    ", "rpm:vendor", p.Vendor)
	b = textElem(b, "    ", "rpm:group", p.Group)
	b = textElem(b, "    ", "rpm:buildhost", p.BuildHost)
	b = textElem(b, "    ", "rpm:sourcerpm", p.SourceRPM)
	b = append(b, "    <rpm:header-range start=\""...)
	b = strconv.AppendInt(b, p.HeaderStart, 10)
	b = append(b, "\" end=\""...)
	b = strconv.AppendInt(b, p.HeaderEnd, 10)
	b = append(b, "\"/>\n"...)
	// createrepo_c's order: the weak dependencies after the classic four.
	b = appendDeps(b, "rpm:provides", p.Provides, false)
	b = appendDeps(b, "rpm:requires", p.Requires, true)
	b = appendDeps(b, "rpm:conflicts", p.Conflicts, false)
	b = appendDeps(b, "rpm:obsoletes", p.Obsoletes, false)
	b = appendDeps(b, "rpm:suggests", p.Suggests, false)
	b = appendDeps(b, "rpm:enhances", p.Enhances, false)
	b = appendDeps(b, "rpm:recommends", p.Recommends, false)
	b = appendDeps(b, "rpm:supplements", p.Supplements, false)
	for _, f := range p.Files {
		if IsPrimaryFile(f.Path) {
			b = appendFile(b, "    ", f)
		}
	}
	return append(b, "  </format>\n</package>\n"...)
}

// IsPrimaryFile reports whether primary.xml lists path, so that dnf can
// resolve a dependency on it without downloading filelists.xml. The rule
// is createrepo_c's cr_is_primary (misc.h), which every yum and dnf
// expects: anything under /etc/, /usr/lib/sendmail, and any path holding
// "bin/" (which also catches /opt/x/sbin/ and /usr/kerberos/bin/).
func IsPrimaryFile(path string) bool {
	return strings.HasPrefix(path, "/etc/") || path == "/usr/lib/sendmail" || strings.Contains(path, "bin/")
}

// AppendFilelists appends p's <package> element of filelists.xml, as
// createrepo_c's cr_xml_dump_filelists writes it, followed by a newline.
func AppendFilelists(b []byte, p *Package) []byte {
	b = appendPackageOpen(b, p)
	for _, f := range p.Files {
		b = appendFile(b, "  ", f)
	}
	return append(b, "</package>\n"...)
}

// AppendOther appends p's <package> element of other.xml, as
// createrepo_c's cr_xml_dump_other writes it, followed by a newline.
func AppendOther(b []byte, p *Package) []byte {
	b = appendPackageOpen(b, p)
	for _, c := range p.Changelogs {
		b = append(b, "  <changelog author=\""...)
		b = appendEscaped(b, c.Author, attr)
		b = append(b, "\" date=\""...)
		b = strconv.AppendInt(b, c.Date, 10)
		b = append(b, "\">"...)
		b = appendEscaped(b, c.Text, text)
		b = append(b, "</changelog>\n"...)
	}
	return append(b, "</package>\n"...)
}

// appendPackageOpen appends the head that filelists.xml and other.xml
// share: the package element with its identity, and its version.
func appendPackageOpen(b []byte, p *Package) []byte {
	b = append(b, "<package pkgid=\""...)
	b = appendEscaped(b, p.SHA256, attr)
	b = append(b, "\" name=\""...)
	b = appendEscaped(b, p.Name, attr)
	b = append(b, "\" arch=\""...)
	b = appendEscaped(b, p.Arch, attr)
	b = append(b, "\">\n"...)
	return appendVersion(b, "  ", p)
}

func appendVersion(b []byte, indent string, p *Package) []byte {
	epoch := p.Epoch
	if epoch == "" {
		epoch = "0"
	}
	b = append(b, indent...)
	b = append(b, "<version epoch=\""...)
	b = appendEscaped(b, epoch, attr)
	b = append(b, "\" ver=\""...)
	b = appendEscaped(b, p.Version, attr)
	b = append(b, "\" rel=\""...)
	b = appendEscaped(b, p.Release, attr)
	return append(b, "\"/>\n"...)
}

// textElem appends <name>value</name>. An empty value is written as an
// empty pair, not <name/>: libxml2 writes the empty text node
// createrepo_c gives it.
func textElem(b []byte, indent, name, value string) []byte {
	b = append(b, indent...)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, value, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

func appendFile(b []byte, indent string, f File) []byte {
	if f.Path == "" {
		return b
	}
	b = append(b, indent...)
	if f.Type != "" && f.Type != "file" {
		b = append(b, "<file type=\""...)
		b = appendEscaped(b, f.Type, attr)
		b = append(b, "\">"...)
	} else {
		b = append(b, "<file>"...)
	}
	b = appendEscaped(b, f.Path, text)
	return append(b, "</file>\n"...)
}

// appendDeps appends one dependency list as cr_xml_dump_primary_dump_pco
// does: nothing for an empty list, and entries without a name skipped
// (which, if none is left, leaves libxml2's empty element behind).
func appendDeps(b []byte, name string, deps []Dep, requires bool) []byte {
	if len(deps) == 0 {
		return b
	}
	open := len(b)
	b = append(b, "    <"...)
	b = append(b, name...)
	b = append(b, ">\n"...)
	written := false
	for i := range deps {
		d := &deps[i]
		if d.Name == "" {
			continue
		}
		written = true
		b = append(b, "      <rpm:entry name=\""...)
		b = appendEscaped(b, d.Name, attr)
		b = append(b, '"')
		if d.Flags != "" {
			b = appendAttr(b, "flags", d.Flags)
			epoch := d.Epoch
			if epoch == "" && d.Ver != "" {
				epoch = "0"
			}
			b = appendAttr(b, "epoch", epoch)
			b = appendAttr(b, "ver", d.Ver)
			b = appendAttr(b, "rel", d.Rel)
		}
		if requires && d.Pre {
			b = append(b, " pre=\"1\""...)
		}
		b = append(b, "/>\n"...)
	}
	if !written {
		b = append(b[:open], "    <"...)
		b = append(b, name...)
		return append(b, "/>\n"...)
	}
	b = append(b, "    </"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// appendAttr appends ` name="value"`, or nothing for an empty value, as
// createrepo_c leaves out empty dependency attributes.
func appendAttr(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, "=\""...)
	b = appendEscaped(b, value, attr)
	return append(b, '"')
}
