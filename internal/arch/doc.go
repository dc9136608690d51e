// Package arch writes Arch Linux packages (.pkg.tar.zst): a zstd-compressed
// tar holding .PKGINFO, .BUILDINFO, the optional .INSTALL scriptlet, the
// payload, and .MTREE, the gzipped mtree(5) listing with each file's
// digests that pacman -Qkk checks installed files against.
//
// Read reads uploaded packages, whichever tool made them and however they
// are compressed, in one bounded pass, for the sync database: .PKGINFO as
// repo-add reads it, and the file list as repo-add lists it.
package arch
