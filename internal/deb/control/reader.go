package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Reader reads the paragraphs of a multi-paragraph file, such as a
// Packages index, one at a time.
type Reader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	line int // lines consumed so far
	err  error
}

// NewReader returns a Reader that refuses any paragraph longer than
// maxParagraph bytes (comments included), so that untrusted input cannot
// make it hold more than that in memory.
func NewReader(r io.Reader, maxParagraph int) *Reader {
	return &Reader{br: bufio.NewReader(r), max: maxParagraph}
}

// Next returns the next paragraph, or io.EOF after the last one. After any
// other error the Reader is done: Next returns the same error again.
func (r *Reader) Next() (Paragraph, error) {
	for r.err == nil {
		p, err := r.next()
		if err != nil {
			r.err = err
			break
		}
		if len(p) > 0 {
			return p, nil
		}
		// Only comments: not a paragraph.
	}
	return nil, r.err
}

func (r *Reader) next() (Paragraph, error) {
	r.buf = r.buf[:0]
	first := r.line + 1
	atLineStart := true
	for {
		chunk, err := r.br.ReadSlice('\n')
		if atLineStart && len(chunk) == 1 && chunk[0] == '\n' {
			r.line++
			if len(r.buf) == 0 {
				first = r.line + 1
				continue
			}
			return parse(string(r.buf), first)
		}
		if len(r.buf)+len(chunk) > r.max {
			return nil, fmt.Errorf("%w: paragraph at line %d is longer than %d bytes", ErrTooLarge, first, r.max)
		}
		r.buf = append(r.buf, chunk...)
		atLineStart = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if atLineStart {
			r.line++
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF:
			if len(r.buf) == 0 {
				return nil, io.EOF
			}
			return parse(string(r.buf), first)
		default:
			return nil, err
		}
	}
}
