// Package push sends package files to a packhouse server the way
// docs/api.md describes: hash every file locally (remembering hashes of
// unchanged files in a cache), ask the server about all of them in one
// batch, and upload in parallel only the bodies it lacks. It also works out
// which branch to push to from CI variables or git. It knows nothing of the
// command line; internal/cli drives it.
package push
