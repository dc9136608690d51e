// Package archive writes a package's payload as a plain archive
// (.tar.xz, .tar.gz or .zip) for systems without a package manager: the
// same files, modes, owners and times as the deb or rpm, paths relative to
// the root, no scripts and no metadata.
package archive
