package lazyre

import (
	"strings"
	"testing"
)

func TestCompiledWhenUsed(t *testing.T) {
	r := New(`^a(b+)$`)
	if !r.MatchString("abb") || r.MatchString("ac") {
		t.Error("MatchString")
	}
	if m := r.FindStringSubmatch("abbb"); len(m) != 2 || m[1] != "bbb" {
		t.Errorf("FindStringSubmatch: %q", m)
	}
	if got := New(`b+`).ReplaceAllString("abbc", "x"); got != "axc" {
		t.Errorf("ReplaceAllString: %q", got)
	}
	if got := New(`[0-9]+`).FindString("ab12c"); got != "12" {
		t.Errorf("FindString: %q", got)
	}
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	bad := New(`a(`)
	if err := Check(); err == nil || !strings.Contains(err.Error(), "missing closing )") {
		t.Errorf("Check with a bad pattern: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a bad pattern did not panic at its first use")
		}
	}()
	bad.MatchString("a")
}
