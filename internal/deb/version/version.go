package version

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid version")

// Version is a parsed Debian version.
type Version struct {
	Epoch    int    // 0 when the version has none
	Upstream string // never empty
	Revision string // "" when the version has none; "" and "0" compare equal
}

// Parse parses a version the way dpkg does, with two differences: what dpkg
// only warns about (characters outside the allowed sets) is an error here,
// and so is any whitespace, where dpkg trims it at either end. An upstream
// part that does not start with a digit is accepted, as dpkg accepts it;
// ParseStrict refuses it.
func Parse(s string) (Version, error) {
	var v Version
	if s == "" {
		return v, invalid(s, "empty")
	}
	if i := strings.IndexAny(s, " \t\n\v\f\r"); i >= 0 {
		return v, invalid(s, "contains whitespace")
	}
	rest := s
	if colon := strings.IndexByte(s, ':'); colon >= 0 {
		e := s[:colon]
		if e == "" {
			return v, invalid(s, "epoch is empty")
		}
		for i := 0; i < len(e); i++ {
			if e[i] < '0' || e[i] > '9' {
				return v, invalid(s, "epoch is not a number")
			}
		}
		// dpkg stores the epoch in an int and refuses more.
		n, err := strconv.ParseUint(e, 10, 64)
		if err != nil || n > math.MaxInt32 {
			return v, invalid(s, "epoch is too big")
		}
		v.Epoch = int(n)
		rest = s[colon+1:]
		if rest == "" {
			return v, invalid(s, "nothing after the epoch")
		}
	}
	v.Upstream = rest
	if h := strings.LastIndexByte(rest, '-'); h >= 0 {
		v.Upstream, v.Revision = rest[:h], rest[h+1:]
		if v.Revision == "" {
			return Version{}, invalid(s, "revision is empty")
		}
	}
	if v.Upstream == "" {
		return Version{}, invalid(s, "upstream version is empty")
	}
	for i := 0; i < len(v.Upstream); i++ {
		if c := v.Upstream[i]; !isAlnum(c) && !strings.ContainsRune(".-+~:", rune(c)) {
			return Version{}, invalid(s, fmt.Sprintf("invalid character %q in upstream version", c))
		}
	}
	for i := 0; i < len(v.Revision); i++ {
		if c := v.Revision[i]; !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return Version{}, invalid(s, fmt.Sprintf("invalid character %q in revision", c))
		}
	}
	return v, nil
}

// ParseStrict is Parse that also requires the upstream version to start
// with a digit, as Debian policy does and dpkg only warns about.
func ParseStrict(s string) (Version, error) {
	v, err := Parse(s)
	if err != nil {
		return v, err
	}
	if !isDigit(v.Upstream[0]) {
		return Version{}, invalid(s, "upstream version does not start with a digit")
	}
	return v, nil
}

func invalid(s, why string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, s, why)
}

// String returns the version in canonical form: the epoch is left out
// when it is 0, so "0:1.0" becomes "1.0", unless the upstream version has
// a colon, which only an epoch makes legal.
func (v Version) String() string {
	var b strings.Builder
	b.Grow(len(v.Upstream) + len(v.Revision) + 12)
	if v.Epoch != 0 || strings.IndexByte(v.Upstream, ':') >= 0 {
		b.WriteString(strconv.Itoa(v.Epoch))
		b.WriteByte(':')
	}
	b.WriteString(v.Upstream)
	if v.Revision != "" {
		b.WriteByte('-')
		b.WriteString(v.Revision)
	}
	return b.String()
}

// Compare returns -1, 0 or +1 as v is older than, the same as, or newer
// than w, by dpkg's rules.
func (v Version) Compare(w Version) int {
	switch {
	case v.Epoch < w.Epoch:
		return -1
	case v.Epoch > w.Epoch:
		return 1
	}
	if r := compareParts(v.Upstream, w.Upstream); r != 0 {
		return r
	}
	return compareParts(v.Revision, w.Revision)
}

// Compare parses and compares two version strings as Version.Compare does.
// So that it is a total order that sorts can rely on, an invalid version
// is older than every valid one, and two invalid ones compare as strings.
func Compare(a, b string) int {
	va, erra := Parse(a)
	vb, errb := Parse(b)
	switch {
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return -1
	case errb != nil:
		return 1
	}
	return va.Compare(vb)
}

// compareParts is dpkg's verrevcmp: alternate runs of non-digits, compared
// character by character with order, and runs of digits, compared as
// numbers of any length.
func compareParts(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(a, i), order(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}

// order ranks the character at s[i] (end of string when i is past it):
// '~' before the end, the end and digits next, then letters, then
// everything else.
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch c := s[i]; {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
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

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
