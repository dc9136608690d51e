// Package lazyre holds regular expressions that are compiled when first
// used, not when the program starts.
//
// packhouse is one binary, server and command line. Package-level
// regexp.MustCompile calls ran in every process, for every package linked
// in: compiling the build spec's, the service's and the converter's
// expressions at start cost every command, packhouse push included, 1.2
// ms of 5.5 (hyperfine, --help: their compiling, and the memory they
// took, which the kernel hands over page by page).
package lazyre

import (
	"fmt"
	"regexp"
	"sync"
)

// A Regexp is a regular expression compiled at its first use. A pattern
// that does not compile panics then, as regexp.MustCompile would have at
// start; Check compiles them all, for tests.
type Regexp struct {
	pattern string
	compile func() *regexp.Regexp
}

var (
	mu  sync.Mutex
	all []*Regexp
)

// New returns the expression pattern, to be compiled when first used.
func New(pattern string) *Regexp {
	r := &Regexp{pattern: pattern, compile: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })}
	mu.Lock()
	all = append(all, r)
	mu.Unlock()
	return r
}

// Check compiles every expression made by New so far and reports the
// first that does not compile.
func Check() error {
	mu.Lock()
	defer mu.Unlock()
	for _, r := range all {
		if _, err := regexp.Compile(r.pattern); err != nil {
			return fmt.Errorf("lazyre: %w", err)
		}
	}
	return nil
}

func (r *Regexp) String() string { return r.pattern }

// MatchString is regexp.Regexp's.
func (r *Regexp) MatchString(s string) bool { return r.compile().MatchString(s) }

// FindString is regexp.Regexp's.
func (r *Regexp) FindString(s string) string { return r.compile().FindString(s) }

// FindStringSubmatch is regexp.Regexp's.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.compile().FindStringSubmatch(s) }

// ReplaceAllString is regexp.Regexp's.
func (r *Regexp) ReplaceAllString(src, repl string) string {
	return r.compile().ReplaceAllString(src, repl)
}
