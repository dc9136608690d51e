// Package control reads and writes Debian control data (deb822): the
// control file inside a .deb, and the paragraphs of Packages and Release
// indexes.
//
// A Paragraph keeps its fields in file order and keeps multi-line values
// byte for byte, so a paragraph that is parsed and written again is
// unchanged apart from comments and blank lines, which are dropped. Parsing
// follows dpkg, which is stricter than Debian policy requires: lines of
// only whitespace, carriage returns and NUL bytes are errors.
package control
