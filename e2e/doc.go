// Package e2e drives the real packhouse binary against the real clients:
// apt-get, dpkg-deb, dnf, pacman, and a Debian root made by mmdebstrap.
// For apk, which Debian does not have, go-apk (chainguard-dev/go-apk, an
// apk repository reader and installer in Go, imported by the tests only)
// stands in. The tests skip where a client is missing, unless
// PACKHOUSE_E2E=1 (as in CI), where a missing client fails them; the go-apk
// test needs nothing installed and never skips.
package e2e
