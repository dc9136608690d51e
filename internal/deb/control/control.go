package control

import (
	"errors"
	"io"
	"strings"
)

var (
	// ErrSyntax is wrapped by every error about malformed control data.
	ErrSyntax = errors.New("deb822 syntax error")
	// ErrTooLarge is wrapped by the error a Reader returns for a paragraph
	// longer than its bound.
	ErrTooLarge = errors.New("deb822 paragraph exceeds size limit")
)

// Field is one field of a paragraph. Value has no leading or trailing
// whitespace on its first line; each further line starts with a space or
// tab and is kept exactly as written, and lines are joined with "\n".
type Field struct {
	Name, Value string
}

// Paragraph is one stanza of control data, its fields in file order.
// Field names are matched without regard to case, as dpkg does.
type Paragraph []Field

// Get returns the value of the named field, or "" if it is absent.
func (p Paragraph) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Lookup returns the value of the named field and whether it is present,
// for fields where an empty value and no field mean different things.
func (p Paragraph) Lookup(name string) (string, bool) {
	for i := range p {
		if strings.EqualFold(p[i].Name, name) {
			return p[i].Value, true
		}
	}
	return "", false
}

// Set gives the named field a value, in place if it exists and at the end
// otherwise. Set does not validate: a value that is not in the form Field
// documents is written as given and may not read back the same.
func (p *Paragraph) Set(name, value string) {
	for i := range *p {
		if strings.EqualFold((*p)[i].Name, name) {
			(*p)[i] = Field{Name: name, Value: value}
			// A paragraph built by hand may repeat a field; keep the
			// one-field-per-name rule that parsing guarantees.
			rest := (*p)[i+1:]
			rest.Del(name)
			*p = (*p)[:i+1+len(rest)]
			return
		}
	}
	*p = append(*p, Field{Name: name, Value: value})
}

// Del removes the named field.
func (p *Paragraph) Del(name string) {
	n := 0
	for _, f := range *p {
		if !strings.EqualFold(f.Name, name) {
			(*p)[n] = f
			n++
		}
	}
	clear((*p)[n:])
	*p = (*p)[:n]
}

// AppendTo appends the paragraph to b, one "Name: Value\n" per field and no
// blank line after the last, and returns the extended slice. A value whose
// first line is empty is written as "Name:" with nothing after the colon,
// as dpkg writes Conffiles.
func (p Paragraph) AppendTo(b []byte) []byte {
	n := 0
	for i := range p {
		n += len(p[i].Name) + len(p[i].Value) + 3
	}
	b = grow(b, n)
	for i := range p {
		b = append(b, p[i].Name...)
		b = append(b, ':')
		if v := p[i].Value; v != "" && v[0] != '\n' {
			b = append(b, ' ')
		}
		b = append(b, p[i].Value...)
		b = append(b, '\n')
	}
	return b
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		return nb
	}
	return b
}

// WriteTo writes the paragraph as AppendTo formats it.
func (p Paragraph) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.AppendTo(nil))
	return int64(n), err
}
