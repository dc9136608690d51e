package iolimit

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	errBig := errors.New("too big")
	tests := []struct {
		in       string
		n        int64
		want     string
		err      error
		exceeded bool
	}{
		{"hello", 10, "hello", nil, false},
		{"hello", 5, "hello", nil, false},
		{"hello!", 5, "hello", errBig, true},
		{"", 0, "", nil, false},
		{"x", 0, "", errBig, true},
	}
	for _, tt := range tests {
		r := &Reader{R: strings.NewReader(tt.in), N: tt.n, Err: errBig}
		got, err := io.ReadAll(r)
		if string(got) != tt.want || !errors.Is(err, tt.err) || r.Exceeded != tt.exceeded {
			t.Errorf("%q bounded at %d: %q, %v, exceeded %v", tt.in, tt.n, got, err, r.Exceeded)
		}
	}
}
