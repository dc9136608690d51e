package control

import (
	"fmt"
	"strings"
)

// ParseParagraph parses control data holding one paragraph, such as the
// control file of a .deb. Blank lines and comments around the paragraph are
// allowed; a second paragraph is an error. Field values share the memory of
// one copy of b, so a paragraph costs few allocations.
func ParseParagraph(b []byte) (Paragraph, error) {
	return parse(string(b), 1)
}

// parse reads the paragraph in s, whose first line is line number first
// in the caller's input.
func parse(s string, first int) (Paragraph, error) {
	p := make(Paragraph, 0, countFields(s))
	var (
		cur        = -1 // index in p of the field whose value is being read
		start, end int  // the value so far is s[start:end], unless split
		split      bool // the value is not one run of s: it is in buf
		buf        []byte
		ended      bool // a blank line followed the paragraph
		seen       map[string]struct{}
	)
	finish := func() {
		if cur < 0 {
			return
		}
		if split {
			p[cur].Value = string(buf)
		} else {
			p[cur].Value = s[start:end]
		}
		cur, split = -1, false
	}
	line := first - 1
	for off := 0; off < len(s); {
		line++
		ls, le := off, strings.IndexByte(s[off:], '\n')
		if le < 0 {
			le, off = len(s), len(s)
		} else {
			le += off
			off = le + 1
		}
		l := s[ls:le]
		if strings.IndexByte(l, 0) >= 0 {
			return nil, syntaxError(line, "NUL byte")
		}
		if strings.IndexByte(l, '\r') >= 0 {
			return nil, syntaxError(line, "carriage return (CRLF line ends are not allowed)")
		}
		switch {
		case l == "":
			if len(p) > 0 {
				finish()
				ended = true
			}
		case l[0] == '#':
			// Policy: comments do not end a field, even between two
			// continuation lines.
		case isBlank(l):
			if cur >= 0 {
				return nil, syntaxError(line, "blank line in value of field %q", p[cur].Name)
			}
			return nil, syntaxError(line, "line of only whitespace")
		case ended:
			return nil, syntaxError(line, "more than one paragraph")
		case l[0] == ' ' || l[0] == '\t':
			if cur < 0 {
				return nil, syntaxError(line, "continuation line %q without a field", short(l))
			}
			if !split && ls == end+1 {
				end = le
				break
			}
			if !split {
				buf = append(buf[:0], s[start:end]...)
				split = true
			}
			buf = append(buf, '\n')
			buf = append(buf, l...)
		default:
			finish()
			colon := strings.IndexByte(l, ':')
			if colon < 0 {
				return nil, syntaxError(line, "no colon in %q", short(l))
			}
			name := l[:colon]
			if err := checkName(name); err != "" {
				return nil, syntaxError(line, "%s", err)
			}
			if len(p) < 16 {
				for i := range p {
					if strings.EqualFold(p[i].Name, name) {
						return nil, syntaxError(line, "duplicate field %q", name)
					}
				}
			} else {
				// Long paragraphs are rare but must not make parsing
				// quadratic.
				if seen == nil {
					seen = make(map[string]struct{}, 2*len(p))
					for i := range p {
						seen[strings.ToLower(p[i].Name)] = struct{}{}
					}
				}
				key := strings.ToLower(name)
				if _, dup := seen[key]; dup {
					return nil, syntaxError(line, "duplicate field %q", name)
				}
				seen[key] = struct{}{}
			}
			start, end = trimSpace(s, ls+colon+1, le)
			p = append(p, Field{Name: name})
			cur = len(p) - 1
		}
	}
	finish()
	return p, nil
}

// countFields counts the lines that start a field, so that parse allocates
// the paragraph once.
func countFields(s string) int {
	n := 0
	for len(s) > 0 {
		switch s[0] {
		case ' ', '\t', '#', '\n':
		default:
			n++
		}
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return n
}

func checkName(name string) string {
	if name == "" {
		return "empty field name"
	}
	if name[0] == '-' {
		return fmt.Sprintf("field name %q starts with '-'", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f {
			return fmt.Sprintf("field name %q contains %q", name, c)
		}
	}
	return ""
}

func isBlank(l string) bool {
	for i := 0; i < len(l); i++ {
		if l[i] != ' ' && l[i] != '\t' {
			return false
		}
	}
	return true
}

// trimSpace returns the bounds of s[i:j] without leading and trailing
// spaces and tabs.
func trimSpace(s string, i, j int) (int, int) {
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return i, j
}

func short(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func syntaxError(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrSyntax, line, fmt.Sprintf(format, args...))
}
