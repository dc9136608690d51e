// Package pkgtar writes a package's contents as tar entries, the same way
// for every format that carries a tar payload (deb, apk, Arch, plain
// archives): headers that depend only on the spec (fixed owner ids, the
// resolved mtime, no access or change times), and file bodies streamed
// from disk through a fixed buffer, hashed on the way when asked.
package pkgtar
