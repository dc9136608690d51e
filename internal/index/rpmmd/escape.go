package rpmmd

import (
	"unicode/utf8"
)

// escapeMode says where a string goes, which decides how libxml2, and so
// createrepo_c, escapes it.
type escapeMode int

const (
	// text is character data. libxml2 escapes &, <, > and, so that a parser
	// does not fold it into \n, \r.
	text escapeMode = iota
	// attr is an attribute value in a package element. createrepo_c dumps
	// those with xmlNodeDump and no document, so libxml2 also writes every
	// non-ASCII character as a hexadecimal character reference (seen in
	// createrepo_c 0.17 output: author="J&#xFC;rgen").
	attr
	// docAttr is an attribute value in repomd.xml, which createrepo_c dumps
	// as a UTF-8 document: non-ASCII characters stay as they are.
	docAttr
)

// appendEscaped appends s escaped for mode. It never fails: whatever s
// holds, the result is well-formed XML 1.0.
//
// Strings that are not UTF-8 are taken as ISO-8859-1, as createrepo_c does
// (cr_latin1_to_utf8 in xml_dump.c): old rpms carry Latin-1 changelogs,
// and their authors' names should survive. Characters XML 1.0 forbids
// (C0 controls other than tab, newline and carriage return; U+FFFE and
// U+FFFF) are dropped; createrepo_c refuses such packages, but one bad
// changelog line must not stop a whole repository from being published.
func appendEscaped(b []byte, s string, mode escapeMode) []byte {
	if !utf8.ValidString(s) {
		s = latin1ToUTF8(s)
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '\r':
				esc = "&#13;"
			case mode != text && c == '"':
				esc = "&quot;"
			case mode != text && c == '\n':
				esc = "&#10;"
			case mode != text && c == '\t':
				esc = "&#9;"
			case c < 0x20 && c != '\t' && c != '\n':
				esc = "" // forbidden in XML 1.0
			default:
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0xFFFE || r == 0xFFFF:
			b = append(b, s[start:i]...)
			start = i + size
		case mode == attr:
			b = append(b, s[start:i]...)
			b = appendHexRef(b, r)
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}

// appendHexRef appends r as libxml2's xmlSerializeHexCharRef writes it:
// upper-case hexadecimal without leading zeros.
func appendHexRef(b []byte, r rune) []byte {
	const digits = "0123456789ABCDEF"
	b = append(b, "&#x"...)
	shift := 28
	for shift > 0 && (r>>shift)&0xF == 0 {
		shift -= 4
	}
	for ; shift >= 0; shift -= 4 {
		b = append(b, digits[(r>>shift)&0xF])
	}
	return append(b, ';')
}

// latin1ToUTF8 converts s as createrepo_c's cr_latin1_to_utf8 does: bytes
// 0x80-0xBF, which in real packages are misencoded CP-1252 rather than
// Latin-1 controls, are dropped.
func latin1ToUTF8(s string) string {
	b := make([]byte, 0, len(s)+len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			b = append(b, c)
		case c >= 0xC0:
			b = utf8.AppendRune(b, rune(c))
		}
	}
	return string(b)
}
