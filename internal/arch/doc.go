// Package arch writes Arch Linux packages (.pkg.tar.zst): a zstd-compressed
// tar holding .PKGINFO, .BUILDINFO, the optional .INSTALL scriptlet, the
// payload, and .MTREE, the gzipped mtree(5) listing with each file's
// digests that pacman -Qkk checks installed files against.
package arch
