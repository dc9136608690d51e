// Package rpm writes binary .rpm packages (rpm v4 file format: lead,
// signature header, main header, cpio payload) from a spec.Package, without
// rpmbuild and without holding the payload in memory, and reads the
// metadata of uploaded ones for the repository index.
//
// The format puts everything that describes the payload (file digests, the
// payload's own digest and size, the signature over the header) in front of
// it, so Write makes two passes: the first streams every source file once
// into a compressed cpio archive in a temporary file while hashing, the
// second writes the headers and copies the archive.
//
// For the same reason Read needs only the headers: it stops where the
// payload starts, and turns the headers into the rpm-md metadata
// createrepo_c would write for the package.
package rpm
