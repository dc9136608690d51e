// Package rpmmd writes the metadata of a dnf/yum (rpm-md) repository:
// primary.xml, filelists.xml, other.xml and repomd.xml, byte for byte as
// createrepo_c 0.17 writes them, so that what dnf reads from packhouse is
// what it reads from every other rpm repository. It is pure: metadata in,
// bytes out; compressing, checksumming and storing the files is the
// caller's.
//
// The element writers append one package at a time, so that a caller can
// cache each package's elements and rebuild an index from the pieces.
package rpmmd
