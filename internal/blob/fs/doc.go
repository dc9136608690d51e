// Package fs is the blob.Store that keeps blobs as files in a local
// directory, the default for a packhouse that runs on one machine.
//
// A blob lives at <root>/sha256/<first two hex digits>/<64 hex digits>,
// read-only once written. Writes go to a temporary file in <root>/tmp, which
// is on the same filesystem so that a commit is one rename: a reader sees the
// whole blob or no blob, and after Commit returns the blob survives a crash.
package fs
