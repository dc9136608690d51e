// Package build turns a spec into package files: for each format and
// architecture asked for, it resolves the spec, names the file the way
// the format's tools expect, and writes it atomically into a directory.
// The formats are registered in one table below.
package build
