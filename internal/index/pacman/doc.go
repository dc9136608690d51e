// Package pacman writes the sync database of a pacman repository,
// <repo>.db and <repo>.files: a gzip-compressed tar holding, per package,
// a <name>-<version>/ directory with the desc entry (and, in the .files
// database, the files entry), byte for byte as repo-add from pacman 6
// writes them. It is pure: metadata in, bytes out; signing the database
// is the caller's. VerCmp orders versions as pacman does, to tell which
// of two packages of one name is the newer.
package pacman
