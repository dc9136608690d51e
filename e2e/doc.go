// Package e2e drives the real packhouse binary against the real clients:
// apt-get, dpkg-deb, and a Debian root made by mmdebstrap. The tests skip
// where a client is missing, unless PACKHOUSE_E2E=1 (as in CI), where a
// missing client fails them.
package e2e
