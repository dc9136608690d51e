package rpm

import "strings"

// vercmp compares two version (or release) strings as rpm's rpmvercmp
// does, returning -1, 0 or 1. Both are split into runs of digits and runs
// of letters, anything else separating them; runs compare pairwise,
// numbers numerically and above letters, letters as bytes. "~" sorts
// before anything, even the end of the string ("1.0~rc1" < "1.0"), and
// "^" after the end but before anything else ("1.0" < "1.0^git1" <
// "1.0.1").
func vercmp(a, b string) int {
	if a == b {
		return 0
	}
	for a != "" || b != "" {
		a = strings.TrimLeftFunc(a, isSeparator)
		b = strings.TrimLeftFunc(b, isSeparator)

		if strings.HasPrefix(a, "~") || strings.HasPrefix(b, "~") {
			if !strings.HasPrefix(a, "~") {
				return 1
			}
			if !strings.HasPrefix(b, "~") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if strings.HasPrefix(a, "^") || strings.HasPrefix(b, "^") {
			switch {
			case a == "":
				return -1
			case b == "":
				return 1
			case !strings.HasPrefix(a, "^"):
				return 1
			case !strings.HasPrefix(b, "^"):
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if a == "" || b == "" {
			break
		}

		isNum := isDigit(rune(a[0]))
		class := isAlpha
		if isNum {
			class = isDigit
		}
		i := strings.IndexFunc(a, func(r rune) bool { return !class(r) })
		if i < 0 {
			i = len(a)
		}
		j := strings.IndexFunc(b, func(r rune) bool { return !class(r) })
		if j < 0 {
			j = len(b)
		}
		sa, sb := a[:i], b[:j]
		a, b = a[i:], b[j:]
		if sb == "" {
			// Runs of different kinds: the number is newer.
			if isNum {
				return 1
			}
			return -1
		}
		if isNum {
			sa = strings.TrimLeft(sa, "0")
			sb = strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func isAlpha(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

func isSeparator(r rune) bool { return !isDigit(r) && !isAlpha(r) && r != '~' && r != '^' }
