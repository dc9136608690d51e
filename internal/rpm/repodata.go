package rpm

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/packhouse/packhouse/internal/index/rpmmd"
)

// This file turns headers into rpm-md metadata the way createrepo_c does
// (cr_package_from_header in parsehdr.c, on a header as rpm's
// rpmReadPackageFile returns it, retrofits applied), so that an index
// built from what Read returns is the one createrepo_c writes for the
// same files.

// changelogLimit is how many of the newest changelog entries createrepo_c
// keeps by default (--changelog-limit).
const changelogLimit = 10

// newInfo builds the Info of a package from its headers. start and end
// are the main header's byte range in the file.
func newInfo(sig, hdr *rawHeader, start, end int64) (*Info, error) {
	p := rpmmd.Package{HeaderStart: start, HeaderEnd: end}
	for _, f := range []struct {
		tag int32
		v   *string
	}{
		{tagName, &p.Name}, {tagVersion, &p.Version}, {tagRelease, &p.Release},
		{tagSummary, &p.Summary}, {tagDescription, &p.Description},
		{tagPackager, &p.Packager}, {tagURL, &p.URL}, {tagLicense, &p.License},
		{tagVendor, &p.Vendor}, {tagGroup, &p.Group}, {tagBuildHost, &p.BuildHost},
		{tagSourceRPM, &p.SourceRPM}, {tagArch, &p.Arch},
	} {
		s, err := hdr.str(f.tag)
		if err != nil {
			return nil, err
		}
		*f.v = s
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"name", p.Name}, {"version", p.Version}, {"release", p.Release}} {
		if f.v == "" {
			return nil, fmt.Errorf("%w: header has no %s", ErrInvalid, f.name)
		}
	}

	epoch, err := hdr.numbers(tagEpoch, typeInt32)
	if err != nil {
		return nil, err
	}
	if epoch.len() == 1 {
		p.Epoch = strconv.FormatUint(epoch.at(0), 10)
	}
	buildTime, err := hdr.numbers(tagBuildTime, typeInt32)
	if err != nil {
		return nil, err
	}
	if buildTime.len() > 0 {
		p.BuildTime = int64(buildTime.at(0))
	}
	if p.InstalledSize, err = size64(hdr, nil, tagLongSize, tagSize, tagSize); err != nil {
		return nil, err
	}
	// rpm merges the signature header's payload size into the header, as
	// ARCHIVESIZE or LONGARCHIVESIZE, which createrepo_c reads.
	if p.ArchiveSize, err = size64(hdr, sig, tagLongArchiveSize, tagArchiveSize, sigPayloadSize); err != nil {
		return nil, err
	}

	files, dirNames, err := hdr.fileList()
	if err != nil {
		return nil, err
	}
	p.Files = files

	// rpm's retrofit (applyRetrofits): a header that says neither that it
	// is a source package nor which source package it comes from is a
	// source package if its files are all in one unnamed directory, and a
	// binary package from an unknown source otherwise. rpm 4.18 no longer
	// asks the lead, and neither does createrepo_c with it.
	srcPkg, err := hdr.numbers(tagSourcePackage, typeInt32)
	if err != nil {
		return nil, err
	}
	_, hasSourceRPM := hdr.entries[tagSourceRPM]
	source := srcPkg.len() == 1 && srcPkg.at(0) != 0
	if !hasSourceRPM && srcPkg.len() == 0 {
		source = len(dirNames) == 1 && dirNames[0] == ""
		if !source {
			p.SourceRPM = "(none)"
			hasSourceRPM = true
		}
	}
	if source {
		p.Arch = "src"
	}
	if p.Arch == "" {
		return nil, fmt.Errorf("%w: header has no arch", ErrInvalid)
	}

	// An rpm 3 header (one without a region) of a package with a source
	// package gets a provide of itself (legacyRetrofit).
	if err := deps(&p, hdr, !hdr.region && hasSourceRPM); err != nil {
		return nil, err
	}
	if p.Changelogs, err = changelogs(hdr); err != nil {
		return nil, err
	}
	return &Info{Meta: p, Source: source}, nil
}

// size64 reads a size the way rpm's 64-bit extension tags do: the 64-bit
// tag if there is one, else the 32-bit one, read unsigned. Each is looked
// up in hdr, then under its signature header tag in sig.
func size64(hdr, sig *rawHeader, tag64, tag32, sigTag32 int32) (int64, error) {
	for _, t := range []struct {
		h   *rawHeader
		tag int32
		typ uint32
	}{{hdr, tag64, typeInt64}, {sig, tag64, typeInt64}, {hdr, tag32, typeInt32}, {sig, sigTag32, typeInt32}} {
		if t.h == nil {
			continue
		}
		v, err := t.h.numbers(t.tag, t.typ)
		if err != nil {
			return 0, err
		}
		if v.len() > 0 {
			return int64(v.at(0)), nil
		}
	}
	return 0, nil
}

// fileList returns the files as createrepo_c lists them, and the
// directory names, which decide whether a package is a source package.
func (h *rawHeader) fileList() ([]rpmmd.File, []string, error) {
	baseNames, err := h.strings(tagBaseNames)
	if err != nil {
		return nil, nil, err
	}
	var dirNames []string
	var dirIndexes numbers
	if baseNames != nil {
		if dirNames, err = h.strings(tagDirNames); err != nil {
			return nil, nil, err
		}
		if dirIndexes, err = h.numbers(tagDirIndexes, typeInt32); err != nil {
			return nil, nil, err
		}
		if dirIndexes.len() != len(baseNames) || len(dirNames) < 1 || len(dirNames) > len(baseNames) {
			return nil, nil, fmt.Errorf("%w: %d file names with %d directory indexes into %d directories",
				ErrInvalid, len(baseNames), dirIndexes.len(), len(dirNames))
		}
	} else {
		// Before rpmlib(CompressedFileNames), full paths; rpm splits them
		// on reading (compressFilelist), putting everything in the
		// unnamed directory if the first path is relative.
		if baseNames, err = h.strings(tagOldFileNames); err != nil {
			return nil, nil, err
		}
		if len(baseNames) > 0 && !strings.HasPrefix(baseNames[0], "/") {
			dirNames = []string{""}
		}
	}
	if len(baseNames) == 0 {
		return nil, dirNames, nil
	}
	modes, err := h.numbers(tagFileModes, typeInt16)
	if err != nil {
		return nil, nil, err
	}
	flags, err := h.numbers(tagFileFlags, typeInt32)
	if err != nil {
		return nil, nil, err
	}
	if modes.len() != len(baseNames) || flags.len() != len(baseNames) {
		return nil, nil, fmt.Errorf("%w: %d files with %d modes and %d flags",
			ErrInvalid, len(baseNames), modes.len(), flags.len())
	}
	files := make([]rpmmd.File, len(baseNames))
	for i, base := range baseNames {
		path := base
		if dirIndexes.len() > 0 {
			di := dirIndexes.at(i)
			if di >= uint64(len(dirNames)) {
				return nil, nil, fmt.Errorf("%w: file %q in directory %d of %d", ErrInvalid, base, di, len(dirNames))
			}
			path = dirNames[di] + base
		}
		files[i].Path = path
		switch {
		case modes.at(i)&0o170000 == 0o040000:
			files[i].Type = "dir"
		case flags.at(i)&fileGhost != 0:
			files[i].Type = "ghost"
		}
	}
	return files, dirNames, nil
}

// depKind says which list a dependency goes to.
type depKind int

const (
	depProvides depKind = iota
	depConflicts
	depObsoletes
	depRequires
	depSuggests
	depEnhances
	depRecommends
	depSupplements
	depOldSuggests
	depOldEnhances
)

// depTags are the dependency lists in the order createrepo_c reads them,
// which matters: requires are compared with the provides before them.
var depTags = []struct {
	kind                 depKind
	name, flags, version int32
}{
	{depProvides, tagProvideName, tagProvideFlags, tagProvideVersion},
	{depConflicts, tagConflictName, tagConflictFlags, tagConflictVersion},
	{depObsoletes, tagObsoleteName, tagObsoleteFlags, tagObsoleteVersion},
	{depRequires, tagRequireName, tagRequireFlags, tagRequireVersion},
	{depSuggests, tagSuggestName, tagSuggestFlags, tagSuggestVersion},
	{depEnhances, tagEnhanceName, tagEnhanceFlags, tagEnhanceVersion},
	{depRecommends, tagRecommendName, tagRecommendFlags, tagRecommendVersion},
	{depSupplements, tagSupplementName, tagSupplementFlags, tagSupplementVersion},
	{depOldSuggests, tagOldSuggestsName, tagOldSuggestsFlags, tagOldSuggestsVersion},
	{depOldEnhances, tagOldEnhancesName, tagOldEnhancesFlags, tagOldEnhancesVersion},
}

type rawDep struct {
	name, version string
	flags         uint64
}

// deps fills p's dependency lists. selfProvide adds the provide of the
// package's own name and version that rpm adds to binary packages older
// than rpm 4.0 (providePackageNVR).
func deps(p *rpmmd.Package, h *rawHeader, selfProvide bool) error {
	// What createrepo_c leaves out of requires: rpmlib() features, what
	// the package provides itself (compared as name, flags and version
	// run together, as it does), its own files when primary.xml lists
	// them anyway, and repeats.
	provided := make(map[string]bool)
	type require struct {
		flags, version string
		pre            bool
	}
	seen := make(map[string]require)
	var owned map[string]bool

	for _, dt := range depTags {
		var list []rawDep
		var err error
		if dt.kind == depProvides && selfProvide {
			list, err = h.legacyProvides(p)
		} else {
			list, err = h.depList(dt.name, dt.flags, dt.version)
		}
		if err != nil {
			return err
		}
		// Of the requires on glibc's soname, createrepo_c keeps only the
		// one with the highest symbol version, after all others.
		var libc *rpmmd.Dep
		for _, d := range list {
			flags := senseName(d.flags)
			pre := false
			if dt.kind == depRequires {
				if strings.HasPrefix(d.name, "rpmlib(") || provided[d.name+flags+d.version] {
					continue
				}
				if strings.HasPrefix(d.name, "/") && rpmmd.IsPrimaryFile(d.name) {
					if owned == nil {
						owned = make(map[string]bool, len(p.Files))
						for _, f := range p.Files {
							owned[f.Path] = true
						}
					}
					if owned[d.name] {
						continue
					}
				}
				pre = d.flags&(sensePrereq|senseScriptPre|senseScriptPost) != 0
				if s, ok := seen[d.name]; ok && s == (require{flags, d.version, pre}) {
					continue
				}
			}
			epoch, ver, rel, ok := splitEVR(d.version)
			if !ok {
				continue // createrepo_c warns and skips a non-numeric epoch
			}
			dep := rpmmd.Dep{Name: d.name, Flags: flags, Epoch: epoch, Ver: ver, Rel: rel}
			switch dt.kind {
			case depProvides:
				provided[d.name+flags+d.version] = true
				p.Provides = append(p.Provides, dep)
			case depConflicts:
				p.Conflicts = append(p.Conflicts, dep)
			case depObsoletes:
				p.Obsoletes = append(p.Obsoletes, dep)
			case depRequires:
				if d.flags&senseMissingOK != 0 {
					p.Recommends = append(p.Recommends, dep)
					break
				}
				dep.Pre = pre
				if strings.HasPrefix(d.name, "libc.so.6") {
					if libc == nil || libcHigher(libc.Name, d.name) {
						libc = &dep
					}
					break
				}
				p.Requires = append(p.Requires, dep)
				seen[d.name] = require{flags, d.version, pre}
			case depSuggests:
				p.Suggests = append(p.Suggests, dep)
			case depEnhances:
				p.Enhances = append(p.Enhances, dep)
			case depRecommends:
				p.Recommends = append(p.Recommends, dep)
			case depSupplements:
				p.Supplements = append(p.Supplements, dep)
			case depOldSuggests:
				if d.flags&senseStrong != 0 {
					p.Recommends = append(p.Recommends, dep)
				} else {
					p.Suggests = append(p.Suggests, dep)
				}
			case depOldEnhances:
				if d.flags&senseStrong != 0 {
					p.Supplements = append(p.Supplements, dep)
				} else {
					p.Enhances = append(p.Enhances, dep)
				}
			}
		}
		if libc != nil {
			p.Requires = append(p.Requires, *libc)
		}
	}
	return nil
}

// depList reads one dependency list's three parallel arrays. Like
// createrepo_c, it reads nothing unless all three are there, and no
// further than the shortest.
func (h *rawHeader) depList(nameTag, flagsTag, versionTag int32) ([]rawDep, error) {
	names, err := h.strings(nameTag)
	if err != nil {
		return nil, err
	}
	flags, err := h.numbers(flagsTag, typeInt32)
	if err != nil {
		return nil, err
	}
	versions, err := h.strings(versionTag)
	if err != nil {
		return nil, err
	}
	n := min(len(names), flags.len(), len(versions))
	list := make([]rawDep, n)
	for i := range list {
		list[i] = rawDep{name: names[i], version: versions[i], flags: flags.at(i)}
	}
	return list, nil
}

// legacyProvides reads the provides of a binary package older than rpm
// 4.0 as rpm retrofits them (providePackageNVR): those of rpm 3.0.2 and
// older were unversioned, and those older than 3.0.4 did not list the
// package itself, "name = [epoch:]version-release", which rpm adds. It
// means to add it only where it is missing, but rpm 4.18's lookup never
// finds it, so createrepo_c lists it twice where it was there.
func (h *rawHeader) legacyProvides(p *rpmmd.Package) ([]rawDep, error) {
	list, err := h.depList(tagProvideName, tagProvideFlags, tagProvideVersion)
	if err != nil {
		return nil, err
	}
	if _, versioned := h.entries[tagProvideVersion]; !versioned {
		names, err := h.strings(tagProvideName)
		if err != nil {
			return nil, err
		}
		list = make([]rawDep, len(names))
		for i, name := range names {
			list[i].name = name
		}
	}
	evr := p.Version + "-" + p.Release
	if p.Epoch != "" {
		evr = p.Epoch + ":" + evr
	}
	return append(list, rawDep{name: p.Name, version: evr, flags: senseEqual}), nil
}

// senseName is createrepo_c's cr_flag_to_str: the comparison of a
// dependency's flags, "" for none or for a combination it has no name for.
func senseName(flags uint64) string {
	switch flags & 0xf {
	case senseLess:
		return "LT"
	case senseGreater:
		return "GT"
	case senseEqual:
		return "EQ"
	case senseLess | senseEqual:
		return "LE"
	case senseGreater | senseEqual:
		return "GE"
	}
	return ""
}

// splitEVR splits "[epoch:]version[-release]" as createrepo_c's
// cr_str_to_evr does: at the first colon if what is before it is a
// number to strtol (else ok is false), then at the first hyphen. A
// version string gets epoch "0" if it has none.
func splitEVR(s string) (epoch, ver, rel string, ok bool) {
	if s == "" {
		return "", "", "", true
	}
	epoch = "0"
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if strtolEnd(s) != i {
			return "", "", "", false
		}
		if i > 0 {
			epoch = s[:i]
		}
		s = s[i+1:]
	}
	ver, rel, _ = strings.Cut(s, "-")
	return epoch, ver, rel, true
}

// strtolEnd returns where C's strtol(s, &end, 10) stops: after optional
// white space, an optional sign and at least one digit, or at 0 if there
// is no number.
func strtolEnd(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == digits {
		return 0
	}
	return i
}

// libcHigher reports whether b is a higher requirement on
// "libc.so.6(GLIBC_x.y)..." than a, as createrepo_c's
// cr_compare_dependency decides: by the version in the first
// parentheses, from its first digit, and, when one has no such version,
// by how far each got towards one (quirks kept).
func libcHigher(a, b string) bool {
	sa, va := libcVersion(a)
	sb, vb := libcVersion(b)
	if sa != sb {
		return sa < sb
	}
	return sa == libcHasVersion && vercmp(va, vb) < 0
}

// How far libcVersion got in a name.
const (
	libcNoParen = iota
	libcUnclosed
	libcEmpty
	libcNoDigit
	libcHasVersion
)

func libcVersion(s string) (stage int, version string) {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return libcNoParen, ""
	}
	s = s[open+1:]
	end := strings.IndexByte(s, ')')
	switch {
	case end < 0:
		return libcUnclosed, ""
	case end == 0:
		return libcEmpty, ""
	}
	digit := strings.IndexAny(s, "0123456789")
	if digit < 0 || digit > end {
		return libcNoDigit, ""
	}
	return libcHasVersion, s[digit:end]
}

// changelogs returns the newest changelog entries, oldest first, as
// createrepo_c writes them: author names without trailing blanks, and
// entries of the same time as the one before them (an older one) moved
// a second apart, since yum ordered changelogs by time alone.
func changelogs(h *rawHeader) ([]rpmmd.Changelog, error) {
	times, err := h.numbers(tagChangelogTime, typeInt32)
	if err != nil {
		return nil, err
	}
	names, err := h.strings(tagChangelogName)
	if err != nil {
		return nil, err
	}
	texts, err := h.strings(tagChangelogText)
	if err != nil {
		return nil, err
	}
	n := min(times.len(), len(names), len(texts), changelogLimit)
	if n == 0 {
		return nil, nil
	}
	// Newest first, as in the header; reversed at the end.
	out := make([]rpmmd.Changelog, n)
	var last int64
	for i := range out {
		t := int64(times.at(i))
		author := names[i]
		for len(author) > 1 && author[len(author)-1] == ' ' {
			author = author[:len(author)-1]
		}
		out[i] = rpmmd.Changelog{Author: author, Date: t, Text: texts[i]}
		if t != last {
			last = t
			continue
		}
		// createrepo_c bumps the newer entries of a run of equal times,
		// counting in a C int.
		next := int64(int32(t))
		for j := i - 1; j >= 0 && out[j].Date == next; j-- {
			out[j].Date++
			next++
		}
	}
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// str returns a string tag as rpm's headerGetString does: a string, the
// first (the C locale's) translation of an i18n string, or the only
// element of a string array; "" if there is none.
func (h *rawHeader) str(tag int32) (string, error) {
	e, ok := h.entries[tag]
	if !ok {
		return "", nil
	}
	switch e.typ {
	case typeString, typeI18NString:
		return cstring(e.data), nil
	case typeStringArray:
		if e.count == 1 {
			return cstring(e.data), nil
		}
		return "", nil
	}
	return "", typeError(tag, e.typ)
}

// strings returns a string array tag's elements, nil if it is absent. A
// plain string is an array of one; of an i18n string, as ever, the first
// translation counts.
func (h *rawHeader) strings(tag int32) ([]string, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	switch e.typ {
	case typeString, typeI18NString:
		return []string{cstring(e.data)}, nil
	case typeStringArray:
		out := make([]string, e.count)
		b := e.data
		for i := range out {
			j := 0
			for b[j] != 0 {
				j++
			}
			out[i] = string(b[:j])
			b = b[j+1:]
		}
		return out, nil
	}
	return nil, typeError(tag, e.typ)
}

// numbers is an integer array as stored, read on demand.
type numbers struct {
	size int
	data []byte
}

func (n numbers) len() int {
	if n.size == 0 {
		return 0
	}
	return len(n.data) / n.size
}

// at returns element i, unsigned, as rpm's rpmtdGetNumber does.
func (n numbers) at(i int) uint64 {
	b := n.data[i*n.size:]
	switch n.size {
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	}
	return binary.BigEndian.Uint64(b)
}

// numbers returns an integer tag's values; rpm refuses a known tag of
// another type than its own.
func (h *rawHeader) numbers(tag int32, typ uint32) (numbers, error) {
	e, ok := h.entries[tag]
	if !ok {
		return numbers{}, nil
	}
	if e.typ != typ {
		return numbers{}, typeError(tag, e.typ)
	}
	return numbers{size: typeAlign(typ), data: e.data}, nil
}

func typeError(tag int32, typ uint32) error {
	return fmt.Errorf("%w: tag %d has type %d", ErrInvalid, tag, typ)
}
