package pacman

import "strings"

// VerCmp compares two package versions as pacman does (alpm_pkg_vercmp in
// libalpm's version.c): it returns -1 if a is older than b, 1 if it is
// newer, 0 if they are the same version.
//
// A version is [epoch:]pkgver[-pkgrel]. Epochs compare first, a missing
// one counting as 0; then pkgver; then pkgrel, but only when both
// versions have one, so "1.0" equals "1.0-5". Each part is compared with
// rpm's rpmvercmp (see rpmvercmp). Unlike rpm and dpkg, "~" means nothing
// special: it is a separator like "." or "_".
//
// The order has libalpm's quirks, kept because pacman decides upgrades
// with it: ignoring a missing pkgrel makes it non-transitive ("1.0-1" <
// "1.0-2", but both equal "1.0"), and "1.0" < "1.0a" < "1.0.0".
func VerCmp(a, b string) int {
	// libalpm sees C strings.
	a, b = cString(a), cString(b)
	if a == b {
		return 0
	}
	epochA, verA, relA, hasRelA := parseEVR(a)
	epochB, verB, relB, hasRelB := parseEVR(b)
	if c := rpmvercmp(epochA, epochB); c != 0 {
		return c
	}
	if c := rpmvercmp(verA, verB); c != 0 || !hasRelA || !hasRelB {
		return c
	}
	return rpmvercmp(relA, relB)
}

func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// parseEVR splits [epoch:]version[-release] as libalpm does: the epoch is
// the digits before a colon that follows them (empty means 0), and the
// release is what follows the last hyphen, so a hyphen in the version
// makes the rest of it part of the release. Without a colon right after
// the leading digits, the epoch is 0 and the colon is part of the version.
func parseEVR(evr string) (epoch, version, release string, hasRelease bool) {
	s := 0
	for s < len(evr) && isDigit(evr[s]) {
		s++
	}
	end := len(evr)
	if i := strings.LastIndexByte(evr, '-'); i >= s {
		end, release, hasRelease = i, evr[i+1:], true
	}
	epoch, version = "0", evr[:end]
	if s < len(evr) && evr[s] == ':' {
		version = evr[s+1 : end]
		if s > 0 {
			epoch = evr[:s]
		}
	}
	return epoch, version, release, hasRelease
}

// rpmvercmp compares two version strings the way libalpm's copy of rpm's
// rpmvercmp does. Each string is a sequence of segments, runs of ASCII
// digits or of ASCII letters, split by separators: any other bytes.
// Segments compare in turn: numbers numerically (leading zeros aside),
// letters byte-wise, and a number is newer than letters. Where the
// separators before a segment differ in length, the longer one is newer.
// When one string runs out, what remains of the other decides: letters
// make it older ("1.0a" < "1.0"), anything else newer ("1.0.1" > "1.0",
// and even "1.0." > "1.0").
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	// one and two are where the next segments start, after their
	// separators; end1 and end2 where the previous segments ended.
	one, two, end1, end2 := 0, 0, 0, 0
	for one < len(a) && two < len(b) {
		for one < len(a) && !isAlnum(a[one]) {
			one++
		}
		for two < len(b) && !isAlnum(b[two]) {
			two++
		}
		if one == len(a) || two == len(b) {
			break
		}
		if sep1, sep2 := one-end1, two-end2; sep1 != sep2 {
			return sign(sep1 - sep2)
		}
		class := isAlpha
		isNum := isDigit(a[one])
		if isNum {
			class = isDigit
		}
		end1, end2 = one, two
		for end1 < len(a) && class(a[end1]) {
			end1++
		}
		for end2 < len(b) && class(b[end2]) {
			end2++
		}
		if end2 == two {
			// Segments of different kinds: numbers are newer.
			if isNum {
				return 1
			}
			return -1
		}
		seg1, seg2 := a[one:end1], b[two:end2]
		if isNum {
			seg1, seg2 = strings.TrimLeft(seg1, "0"), strings.TrimLeft(seg2, "0")
			if len(seg1) != len(seg2) {
				return sign(len(seg1) - len(seg2))
			}
		}
		if c := strings.Compare(seg1, seg2); c != 0 {
			return c
		}
		one, two = end1, end2
	}
	switch {
	case one == len(a) && two == len(b):
		return 0
	case one == len(a) && !isAlpha(b[two]), one < len(a) && isAlpha(a[one]):
		return -1
	}
	return 1
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// The C locale's classes, which vercmp and pacman use: bytes above 0x7f
// are separators.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
