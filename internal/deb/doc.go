// Package deb reads Debian binary packages (.deb files) as they are
// uploaded: in one sequential pass, without seeking and without holding or
// unpacking the data member, checking the ar container, the control
// archive and the control file, with every part bounded before it is read
// or unpacked.
//
// The format is the one deb(5) describes and dpkg-deb writes: an ar
// archive of debian-binary, control.tar[.gz|.xz|.zst] and
// data.tar[.gz|.xz|.zst|.bz2|.lzma], in that order.
package deb
