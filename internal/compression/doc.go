// Package compression opens the compressing writers the package formats
// use (gzip, xz, zstd), configured so that output is reproducible and
// memory stays bounded whatever the input size: no writer buffers more
// than a fixed window, and none records a timestamp or host. Its readers
// are bounded the same way, since what they read is untrusted.
package compression
