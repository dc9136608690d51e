// Package convert turns an existing .deb into the neutral package model,
// so that any writer can produce it as an rpm, apk, Arch package or
// archive, the way alien does: names, versions, dependencies and scripts
// are mapped, and whatever cannot be mapped is reported rather than
// silently dropped.
//
// The .deb is untrusted input. Its payload is extracted into a directory
// under flat, generated names (never the paths the package names), with
// every size bounded and every file checked against md5sums as it is
// copied.
package convert
