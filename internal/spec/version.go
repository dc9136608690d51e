package spec

import (
	"fmt"
	"strings"

	"github.com/packhouse/packhouse/internal/lazyre"
)

// semverRE is lenient like nfpm's: an optional "v", one to three numeric
// parts, then optional -prerelease and +metadata.
var semverRE = lazyre.New(`^v?(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$`)

// parseSemver splits a semantic version into its numeric core ("1.2.0"
// for "v1.2"), prerelease and metadata. ok is false when v is not one.
func parseSemver(v string) (core, pre, meta string, ok bool) {
	m := semverRE.FindStringSubmatch(v)
	if m == nil {
		return "", "", "", false
	}
	parts := []string{m[1], m[2], m[3]}
	for i := range parts {
		if parts[i] == "" {
			parts[i] = "0"
		}
	}
	return strings.Join(parts, "."), m[4], m[5], true
}

var (
	debUpstreamRE = lazyre.New(`^[0-9][A-Za-z0-9.+~-]*$`)
	debRevisionRE = lazyre.New(`^[A-Za-z0-9+.~]+$`)
	digitsRE      = lazyre.New(`^[0-9]+$`)
	// apk-tools' grammar: numbers, an optional letter, suffixes, an
	// optional ~hash.
	apkVersionRE = lazyre.New(`^[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*(~[0-9a-f]+)?$`)
	apkSuffixRE  = lazyre.New(`^(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*$`)
	archPkgverRE = lazyre.New(`^[A-Za-z0-9._+]+$`)
	archPkgrelRE = lazyre.New(`^[0-9]+(\.[0-9]+)?$`)
	archPreRE    = lazyre.New(`^[A-Za-z][A-Za-z0-9._+]*$`)
	rpmPartRE    = lazyre.New(`^[A-Za-z0-9._+~^]+$`)
)

// VersionError says which part of a version a format cannot hold.
type VersionError struct {
	Field  string // "version", "release", "prerelease", "epoch", "version_metadata"
	Format string
	Reason string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s cannot hold this %s: %s", e.Format, e.Field, e.Reason)
}

// FullVersion composes the package's version in the format's own syntax:
//
//	deb        [epoch:]version[~prerelease][+metadata][-release]
//	rpm        [epoch:]version[~prerelease][+metadata]-release  (release defaults to 1)
//	apk        version[_prerelease]-r<release>                  (release defaults to 0)
//	archlinux  [epoch:]version[prerelease]-<release>            (release defaults to 1)
//	archive    version[-prerelease][+metadata]
//
// and checks that the format can hold each part, saying which cannot.
func FullVersion(format string, p *Package) (string, error) {
	verr := func(field, reason string, args ...any) error {
		return &VersionError{Field: field, Format: format, Reason: fmt.Sprintf(reason, args...)}
	}
	if p.Version == "" {
		return "", verr("version", "it is empty")
	}
	if p.Epoch != "" && !digitsRE.MatchString(p.Epoch) {
		return "", verr("epoch", "%q is not a number", p.Epoch)
	}
	epoch := ""
	if p.Epoch != "" {
		epoch = p.Epoch + ":"
	}
	switch format {
	case FormatDeb:
		up := p.Version
		if p.Prerelease != "" {
			up += "~" + p.Prerelease
		}
		if p.VersionMetadata != "" {
			up += "+" + p.VersionMetadata
		}
		if !debUpstreamRE.MatchString(up) {
			if up[0] < '0' || up[0] > '9' {
				return "", verr("version", "%q must start with a digit", up)
			}
			return "", verr(partWithBadChars(p, debUpstreamRE), "%q may only hold letters, digits and . + ~ -", up)
		}
		if p.Release == "" {
			if strings.Contains(up, "-") {
				return "", verr("version", "%q contains '-', which deb reads as the start of the revision; set release, or drop the '-'", up)
			}
			return epoch + up, nil
		}
		if !debRevisionRE.MatchString(p.Release) {
			return "", verr("release", "%q may only hold letters, digits and + . ~", p.Release)
		}
		return epoch + up + "-" + p.Release, nil
	case FormatRPM:
		v := p.Version
		if p.Prerelease != "" {
			v += "~" + p.Prerelease
		}
		if p.VersionMetadata != "" {
			v += "+" + p.VersionMetadata
		}
		if !rpmPartRE.MatchString(v) {
			return "", verr(partWithBadChars(p, rpmPartRE), "%q may only hold letters, digits and . _ + ~ ^ (no '-')", v)
		}
		rel := p.Release
		if rel == "" {
			rel = "1"
		}
		if !rpmPartRE.MatchString(rel) {
			return "", verr("release", "%q may only hold letters, digits and . _ + ~ ^", rel)
		}
		return epoch + v + "-" + rel, nil
	case FormatAPK:
		if p.Epoch != "" {
			return "", verr("epoch", "apk versions have no epoch")
		}
		v := p.Version
		if p.Prerelease != "" {
			pre := strings.ReplaceAll(p.Prerelease, ".", "")
			if !apkSuffixRE.MatchString(pre) {
				return "", verr("prerelease", "%q is not an apk suffix (alpha, beta, pre or rc, then an optional number: beta1)", p.Prerelease)
			}
			v += "_" + pre
		}
		if !apkVersionRE.MatchString(v) {
			return "", verr("version", "%q is not an apk version (numbers separated by dots, an optional letter, _suffixes)", v)
		}
		rel := p.Release
		if rel == "" {
			rel = "0"
		}
		if !digitsRE.MatchString(rel) {
			return "", verr("release", "%q is not a number (apk's -r<release>)", rel)
		}
		return v + "-r" + rel, nil
	case FormatArchLinux:
		v := p.Version
		if p.Prerelease != "" {
			// No separator: pacman orders 1.0rc1 before 1.0, but 1.0.rc1
			// and 1.0_rc1 after it.
			if !archPreRE.MatchString(p.Prerelease) {
				return "", verr("prerelease", "%q must start with a letter and hold only letters, digits and . _ +", p.Prerelease)
			}
			v += p.Prerelease
		}
		if !archPkgverRE.MatchString(v) {
			return "", verr("version", "%q may only hold letters, digits and . _ + (no '-' or ':')", v)
		}
		rel := p.Release
		if rel == "" {
			rel = "1"
		}
		if !archPkgrelRE.MatchString(rel) {
			return "", verr("release", "%q is not a pkgrel (a number, optionally .number)", rel)
		}
		return epoch + v + "-" + rel, nil
	case FormatArchive:
		v := p.Version
		if p.Prerelease != "" {
			v += "-" + p.Prerelease
		}
		if p.VersionMetadata != "" {
			v += "+" + p.VersionMetadata
		}
		if strings.ContainsAny(v, "/\\ \t\n") {
			return "", verr("version", "%q contains a path separator or space", v)
		}
		return v, nil
	}
	return "", fmt.Errorf("unknown format %q", format)
}

// partWithBadChars guesses which of version, prerelease and metadata holds
// the character the format rejects, so that the error names the right key.
func partWithBadChars(p *Package, re *lazyre.Regexp) string {
	ok := func(s string) bool { return s == "" || re.MatchString("0"+s) }
	switch {
	case !ok(p.Prerelease):
		return "prerelease"
	case !ok(p.VersionMetadata):
		return "version_metadata"
	}
	return "version"
}
