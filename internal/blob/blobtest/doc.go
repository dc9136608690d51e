// Package blobtest is the conformance suite for blob.Store: every
// implementation, the in-memory one included, calls Run from its tests, so
// that they all keep the same promises to the code above them.
package blobtest
