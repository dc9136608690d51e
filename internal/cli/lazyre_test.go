package cli

import (
	"testing"

	"github.com/packhouse/packhouse/internal/lazyre"
)

// The expressions of every package linked in compile, as they would have
// at start before they were compiled at their first use.
func TestExpressionsCompile(t *testing.T) {
	if err := lazyre.Check(); err != nil {
		t.Fatal(err)
	}
}
