// Package testtool lets tests that drive real tools (apt-get, gpgv, rpm,
// dnf, pacman, podman, …) skip on a machine without them, and fail
// instead in CI, where PACKHOUSE_E2E=1: there a skipped client test would
// hide a broken install, not a missing one.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether real-tool tests must run (CI).
func Required() bool { return os.Getenv("PACKHOUSE_E2E") == "1" }

// Need skips (or, in CI, fails) the test unless every tool is on PATH.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if Required() {
				t.Fatalf("%s is not installed, and PACKHOUSE_E2E=1 forbids skipping", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// NeedRoot skips (or, in CI, fails) the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if Required() {
			t.Fatal("this test needs root, and PACKHOUSE_E2E=1 forbids skipping")
		}
		t.Skip("this test needs root")
	}
}

// Path is Need for one tool, returning where it is.
func Path(t testing.TB, tool string) string {
	t.Helper()
	Need(t, tool)
	p, _ := exec.LookPath(tool)
	return p
}
