// Package apk writes and reads Alpine's v2 packages (apk-v2(5)): three
// gzip streams that together read as one tar archive, holding the
// signature, the control section (.PKGINFO and scripts) and the data
// section. .PKGINFO's datahash is the SHA-256 of the data stream, and the
// signature covers the control stream, so signing the small control part
// vouches for the whole package.
package apk
