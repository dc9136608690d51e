// Package iolimit bounds how much is read from untrusted streams.
package iolimit

import "io"

// Reader passes through at most N bytes of R. Reading past them fails with
// Err if R has more, and ends with R's own EOF if it has not, so that a
// stream of exactly N bytes is not mistaken for a longer one.
type Reader struct {
	R   io.Reader
	N   int64 // bytes left
	Err error
	// Exceeded is set once R turned out to hold more than the bound.
	Exceeded bool
}

func (l *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.N <= 0 {
		var probe [1]byte
		n, err := l.R.Read(probe[:])
		if n > 0 {
			l.Exceeded = true
			return 0, l.Err
		}
		return 0, err
	}
	if int64(len(p)) > l.N {
		p = p[:l.N]
	}
	n, err := l.R.Read(p)
	l.N -= int64(n)
	return n, err
}
