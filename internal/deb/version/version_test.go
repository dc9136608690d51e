package version

import (
	"errors"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		str  string
	}{
		{"1.0", Version{0, "1.0", ""}, "1.0"},
		{"1.0-1", Version{0, "1.0", "1"}, "1.0-1"},
		{"1:2.30-4ubuntu1~22.04.1", Version{1, "2.30", "4ubuntu1~22.04.1"}, ""},
		{"0:1.0", Version{0, "1.0", ""}, "1.0"},
		{"01:1.0", Version{1, "1.0", ""}, "1:1.0"},
		{"1.0-beta-2", Version{0, "1.0-beta", "2"}, ""},
		{"1:2:3-4", Version{1, "2:3", "4"}, ""},
		{"0:2:3", Version{0, "2:3", ""}, "0:2:3"},
		{"1.0+dfsg~rc1", Version{0, "1.0+dfsg~rc1", ""}, ""},
		{"2147483647:1", Version{2147483647, "1", ""}, ""},
		{"a1", Version{0, "a1", ""}, ""},
		{"1.0-A.b+c~d", Version{0, "1.0", "A.b+c~d"}, ""},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if v != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, v, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if v.String() != str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, v.String(), str)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{" 1.0", "whitespace"},
		{"1.0 ", "whitespace"},
		{"1 0", "whitespace"},
		{"1.0\n", "whitespace"},
		{":1.0", "epoch is empty"},
		{"a:1.0", "epoch is not a number"},
		{"+1:1.0", "epoch is not a number"},
		{"-1:1.0", "epoch is not a number"},
		{"2147483648:1", "epoch is too big"},
		{"99999999999999999999999:1", "epoch is too big"},
		{"1:", "nothing after the epoch"},
		{"1.0-", "revision is empty"},
		{"-1", "upstream version is empty"},
		{"1:-1", "upstream version is empty"},
		{"1_0", `invalid character '_' in upstream`},
		{"1.0-a_b", `invalid character '_' in revision`},
		{"1:1.0-a:b", `invalid character ':' in revision`},
		{"1.0\x00", `invalid character '\x00'`},
		{"1.0ä", "invalid character"},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", tt.in, v)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error %q, want ErrInvalid containing %q", tt.in, err, tt.want)
		}
	}
}

func TestParseStrict(t *testing.T) {
	if _, err := ParseStrict("1.0a"); err != nil {
		t.Error(err)
	}
	for _, s := range []string{"a1", "1:~1", "1:.1-1", "1.0-"} {
		if _, err := ParseStrict(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseStrict(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestCompare(t *testing.T) {
	// Each row is a < b.
	less := [][2]string{
		{"1.0~rc1", "1.0"},
		{"1.0~~", "1.0~"},
		{"1.0~~a", "1.0~"},
		{"1.0~", "1.0"},
		{"1.0", "1.0a"},
		{"1.0", "1.0.1"},
		{"1.0a", "1.0+"}, // letters before non-letters
		{"1.0a", "1.0."},
		{"1.0+", "1.0."}, // then ASCII order
		{"1.0~", "1.0a"},
		{"1.0Z", "1.0a"},
		{"2.0", "1:0.1"}, // epoch wins
		{"9:9", "10:0"},
		{"1.0-1", "1.0-1.1"},
		{"1.0-1", "1.0-2"},
		{"1.0-2", "1.0-10"},
		{"1.0-9", "1.0.1-1"},
		{"1.0-1", "1.0+1-1"},
		{"1.0", "1.0-1"},
		{"1.9", "1.10"}, // digits are numbers
		{"1.09", "1.10"},
		{"0.99999999999999999999999", "1.0"},
		{"99999999999999999999998", "99999999999999999999999"},
		{"1.0-1~bpo1", "1.0-1"},
		{"1.2.3", "1.2.3+b1"},
		{"1:1.0-1", "1:1.0-1ubuntu1"},
		{"a", "b"},
		{"1~", "1"},
	}
	for _, p := range less {
		if got := Compare(p[0], p[1]); got != -1 {
			t.Errorf("Compare(%q, %q) = %d, want -1", p[0], p[1], got)
		}
		if got := Compare(p[1], p[0]); got != 1 {
			t.Errorf("Compare(%q, %q) = %d, want 1", p[1], p[0], got)
		}
	}
	equal := [][2]string{
		{"1.0", "1.0"},
		{"1.0", "0:1.0"},
		{"1.0", "1.0-0"},
		{"1.0-0", "1.0-00"},
		{"1.01", "1.1"},
		{"1.001", "1.1"},
		{"001:1", "1:1"},
		{"0100", "100"},
		{"1.0a0", "1.0a"},
		{"1.0.", "1.0.0"},
	}
	for _, p := range equal {
		if got := Compare(p[0], p[1]); got != 0 {
			t.Errorf("Compare(%q, %q) = %d, want 0", p[0], p[1], got)
		}
	}
}

func TestCompareInvalid(t *testing.T) {
	if got := Compare("bad version", "0"); got != -1 {
		t.Errorf("invalid vs valid = %d, want -1", got)
	}
	if got := Compare("0~", "1.0-"); got != 1 {
		t.Errorf("valid vs invalid = %d, want 1", got)
	}
	if got := Compare("a b", "a c"); got != -1 {
		t.Errorf("two invalid = %d, want -1", got)
	}
}

// TestCompareDpkg checks random pairs against the real dpkg.
func TestCompareDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not on PATH")
	}
	if testing.Short() {
		t.Skip("runs dpkg hundreds of times")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	dpkgCompare := func(a, op, b string) bool {
		err := exec.Command(dpkg, "--compare-versions", a, op, b).Run()
		if err == nil {
			return true
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			return false
		}
		t.Fatalf("dpkg --compare-versions %q %s %q: %v", a, op, b, err)
		return false
	}
	for range 250 {
		a := randomVersion(rng)
		b := a
		if rng.IntN(4) > 0 {
			b = mutate(rng, a)
		}
		if b == a {
			b = randomVersion(rng)
		}
		want := 0
		switch {
		case dpkgCompare(a, "lt", b):
			want = -1
		case !dpkgCompare(a, "eq", b):
			want = 1
		}
		if got := Compare(a, b); got != want {
			t.Errorf("Compare(%q, %q) = %d, dpkg says %d", a, b, got, want)
		}
	}
}

// randomVersion returns a valid version built from few characters, so that
// pairs often share prefixes and hit the rules that matter.
func randomVersion(rng *rand.Rand) string {
	const chars = "0001123459.....~~++aAbz"
	part := func(n int, extra string) string {
		var b strings.Builder
		for range n {
			if extra != "" && rng.IntN(10) == 0 {
				b.WriteByte(extra[rng.IntN(len(extra))])
			} else {
				b.WriteByte(chars[rng.IntN(len(chars))])
			}
		}
		return b.String()
	}
	var s string
	epoch := rng.IntN(6) == 0
	if epoch {
		s = []string{"0", "1", "2", "00", "10"}[rng.IntN(5)] + ":"
	}
	extra := ""
	revision := rng.IntN(2) == 0
	if revision {
		extra = "-"
	}
	if epoch {
		extra += ":"
	}
	s += string("0123456789"[rng.IntN(10)]) + part(rng.IntN(7), extra)
	if revision {
		s += "-" + part(1+rng.IntN(4), "")
	}
	if _, err := ParseStrict(s); err != nil {
		return "1.0"
	}
	return s
}

// mutate makes a small change to v, keeping it valid if it can.
func mutate(rng *rand.Rand, v string) string {
	edits := []string{"~", "~~", "a", "+", ".", "0", "1", "9", "-1", "Z"}
	var s string
	switch i := rng.IntN(len(v) + 1); rng.IntN(3) {
	case 0:
		s = v[:i] + edits[rng.IntN(len(edits))] + v[i:]
	case 1:
		if i < len(v) {
			s = v[:i] + v[i+1:]
		}
	default:
		s = v + edits[rng.IntN(len(edits))]
	}
	if _, err := ParseStrict(s); err != nil {
		return v
	}
	return s
}

func FuzzCompare(f *testing.F) {
	seeds := [][3]string{
		{"1.0~rc1", "1.0", "1.0-1"},
		{"1:0.1", "2.0", "1.0a"},
		{"1.0+", "1.0a", "1.0-1.1"},
		{"001", "1", "1.0-0"},
		{"bad version", "1.0-", ":1"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := Compare(a, b), Compare(b, a)
		if ab != -ba {
			t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q) = %d", a, b, ab)
		}
		if Compare(a, a) != 0 {
			t.Fatalf("Compare(%q, %q) != 0", a, a)
		}
		if bc := Compare(b, c); ab <= 0 && bc <= 0 && Compare(a, c) > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		for _, s := range []string{a, b, c} {
			v, err := Parse(s)
			if err != nil {
				continue
			}
			w, err := Parse(v.String())
			if err != nil {
				t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, v.String(), err)
			}
			if w != v {
				t.Fatalf("Parse(String()) of %q = %+v, want %+v", s, w, v)
			}
		}
	})
}

func BenchmarkCompare(b *testing.B) {
	for b.Loop() {
		Compare("1:2.30-4ubuntu1~22.04.1", "1:2.30-4ubuntu1~22.04.2")
	}
}
