package pacman

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/packhouse/packhouse/internal/testtool"
)

// verCmpTests are cases where pacman's order is easy to get wrong. want
// is what vercmp from pacman 6.0.2 prints; TestVerCmpTool asks the
// installed one again.
var verCmpTests = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0},
	{"1.0", "1.1", -1},
	{"1.0", "1.0a", 1}, // letters after a version make a pre-release
	{"1.0a", "1.0b", -1},
	{"1.0alpha", "1.0", -1},
	{"1.0.a", "1.0.1", -1}, // a number is newer than letters
	{"1.0.a", "1.0", 1},    // but letters after a separator add to it
	{"1.0", "1.0.0", -1},
	{"1.0.", "1.0", 1},    // even a trailing separator does
	{"1.0_", "1.0.", 0},   // separators of the same length are equal
	{"1..0", "1.0", 1},    // a longer separator is newer
	{"1.0~rc1", "1.0", 1}, // "~" is a separator to pacman, not a pre-release mark
	{"1.0~rc1", "1.0.rc1", 0},
	{"a", "b", -1},
	{"abc", "abd", -1},
	{"B", "a", -1}, // letters compare as bytes
	{"1", "a", 1},
	{"00001", "1", 0}, // leading zeros do not count
	{"010", "9", 1},
	{"12345678901234567890123", "12345678901234567890122", 1}, // no overflow
	{"1.0.0", "1.0.0.0", -1},
	{"1.2.3alpha", "1.2.3", -1},
	{"2.0beta2", "2.0beta10", -1},
	{"1.0-1", "1.0-2", -1},
	{"1.0-2", "1.0-10", -1},
	{"1.0-1", "1.0", 0}, // pkgrel counts only if both have one
	{"1.0", "1.0-5", 0},
	{"1.0-", "1.0-1", -1},
	{"1.0-1.1", "1.0-1", 1},
	{"1.0-1-1", "1.0-1", 1}, // the release is after the last hyphen
	{"1:1.0", "2.0", 1},     // epochs first
	{"1:1.0", "1:2.0", -1},
	{"0:1.0", "1.0", 0}, // no epoch is epoch 0
	{":1.0", "1.0", 0},  // and so is an empty one
	{"01:1", "1:1", 0},
	{"2:1.0-1", "1:5.0-9", 1},
	{"1a:2", "2", -1}, // not an epoch: the colon is part of the version
	{"1:2:3", "1:2.3", 0},
	{"1é", "1", 1}, // bytes above 0x7f are separators
	{"", "1", -1},
	{"", "", 0},
	{"-1", "1", -1},
	{"1.0\x00junk", "1.0", 0}, // libalpm reads C strings
}

func TestVerCmp(t *testing.T) {
	for _, tc := range verCmpTests {
		if got := VerCmp(tc.a, tc.b); got != tc.want {
			t.Errorf("VerCmp(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := VerCmp(tc.b, tc.a); got != -tc.want {
			t.Errorf("VerCmp(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

// TestVerCmpTool compares the table with the installed vercmp, in both
// orders.
func TestVerCmpTool(t *testing.T) {
	vercmp := testtool.Path(t, "vercmp")
	for _, tc := range verCmpTests {
		if strings.ContainsRune(tc.a+tc.b, 0) {
			continue
		}
		for _, p := range [][2]string{{tc.a, tc.b}, {tc.b, tc.a}} {
			if got, want := VerCmp(p[0], p[1]), runVerCmp(t, vercmp, p[0], p[1]); got != want {
				t.Errorf("VerCmp(%q, %q) = %d, vercmp says %d", p[0], p[1], got, want)
			}
		}
	}
}

func runVerCmp(t *testing.T, vercmp, a, b string) int {
	t.Helper()
	cmd := exec.Command(vercmp, a, b)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vercmp %q %q: %v", a, b, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("vercmp %q %q: %q", a, b, out)
	}
	return sign(n)
}

var vercmpPath = sync.OnceValue(func() string {
	p, _ := exec.LookPath("vercmp")
	return p
})

// FuzzVerCmp checks that VerCmp is an order's comparison, as far as
// pacman's is one, and that it agrees with vercmp when that is installed.
func FuzzVerCmp(f *testing.F) {
	for _, tc := range verCmpTests {
		f.Add(tc.a, tc.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := VerCmp(a, b)
		if got < -1 || got > 1 {
			t.Fatalf("VerCmp(%q, %q) = %d", a, b, got)
		}
		if back := VerCmp(b, a); back != -got {
			t.Fatalf("VerCmp(%q, %q) = %d but VerCmp(%q, %q) = %d", a, b, got, b, a, back)
		}
		if VerCmp(a, a) != 0 {
			t.Fatalf("VerCmp(%q, %q) != 0", a, a)
		}
		// exec cannot pass a NUL byte.
		if vercmpPath() == "" || strings.ContainsRune(a+b, 0) {
			return
		}
		if want := runVerCmp(t, vercmpPath(), a, b); got != want {
			t.Fatalf("VerCmp(%q, %q) = %d, vercmp says %d", a, b, got, want)
		}
	})
}
