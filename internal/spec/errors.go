package spec

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error that says the spec itself is wrong
// (as opposed to, say, a disk failing while reading a source file).
var ErrInvalid = errors.New("invalid package spec")

// Error is a problem in the spec, located by file, line and key so that the
// user can go straight to it.
type Error struct {
	File string // the spec file, as given
	Line int    // 1-based; 0 when the key is missing altogether
	Key  string // dotted path: "contents[2].file_info.mode"
	Err  error
}

func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "spec"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %v", loc, e.Key, e.Err)
	}
	return fmt.Sprintf("%s: %v", loc, e.Err)
}

func (e *Error) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// errorf builds an Error for key at line; the file is filled in by the
// Spec that returns it.
func errorf(line int, key, format string, args ...any) *Error {
	return &Error{Line: line, Key: key, Err: fmt.Errorf(format, args...)}
}
