package rpm

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/packhouse/packhouse/internal/spec"
)

func TestHeaderMarshal(t *testing.T) {
	h := newHeader()
	h.String(tagName, "x")
	h.Int64(tagLongSize, 1<<40)
	h.Int16(tagFileModes, 0o100644, 0o40755)
	h.Int32(tagFileSizes, 7, 0)
	h.StringArray(tagBaseNames, []string{"a", "bc"})
	h.Bin(sigRSA, []byte{1, 2, 3})
	b, err := h.Marshal(tagHeaderImmutable)
	if err != nil {
		t.Fatal(err)
	}
	got := readTestHeader(t, bytes.NewReader(b))
	if got.str(tagName) != "x" || got.ints(tagLongSize)[0] != 1<<40 ||
		!reflect.DeepEqual(got.ints(tagFileModes), []int64{0o100644, 0o40755}) ||
		!reflect.DeepEqual(got.ints(tagFileSizes), []int64{7, 0}) ||
		!reflect.DeepEqual(got.strings(tagBaseNames), []string{"a", "bc"}) ||
		!bytes.Equal(got.raw[sigRSA].data, []byte{1, 2, 3}) {
		t.Errorf("round trip: %s", got)
	}
	if len(got.index) != 7 {
		t.Errorf("%d entries, want 6 and the region", len(got.index))
	}
}

func TestParseDep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want dep
	}{
		{"foo", dep{"foo", 0, ""}},
		{"  foo  ", dep{"foo", 0, ""}},
		{"foo >= 1.2", dep{"foo", senseGreater | senseEqual, "1.2"}},
		{"foo>=1.2", dep{"foo", senseGreater | senseEqual, "1.2"}},
		{"foo (>= 1.2)", dep{"foo", senseGreater | senseEqual, "1.2"}},
		{"foo(>=1.2)", dep{"foo", senseGreater | senseEqual, "1.2"}},
		{"foo (<< 2)", dep{"foo", senseLess, "2"}},
		{"foo (>> 2)", dep{"foo", senseGreater, "2"}},
		{"foo = 1:2.0-3", dep{"foo", senseEqual, "1:2.0-3"}},
		{"foo == 1", dep{"foo", senseEqual, "1"}},
		{"foo <= 1", dep{"foo", senseLess | senseEqual, "1"}},
		{"foo < 1", dep{"foo", senseLess, "1"}},
		{"libfoo.so.1()(64bit)", dep{"libfoo.so.1()(64bit)", 0, ""}},
		{"/usr/bin/python3", dep{"/usr/bin/python3", 0, ""}},
		{"perl(Foo::Bar) >= 1.0", dep{"perl(Foo::Bar)", senseGreater | senseEqual, "1.0"}},
		{"pkgconfig(foo) (>= 1)", dep{"pkgconfig(foo)", senseGreater | senseEqual, "1"}},
		{"(foo if bar)", dep{"(foo if bar)", 0, ""}},
		{"foo | bar (>= 2)", dep{"(foo or bar >= 2)", 0, ""}},
	} {
		got, err := parseDep(tc.in)
		if err != nil {
			t.Errorf("parseDep(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseDep(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"foo >=", "foo 1.2", "foo ~> 1", "(foo", "foo (>= 1 2)", ">= 1"} {
		if d, err := parseDep(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("parseDep(%q) = %+v, %v; want ErrInvalid", in, d, err)
		}
	}
}

func TestSortDeps(t *testing.T) {
	got := sortDeps([]dep{{"b", 0, ""}, {"a", 8, "1"}, {"b", 0, ""}, {"a", 0, ""}})
	want := []dep{{"a", 0, ""}, {"a", 8, "1"}, {"b", 0, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sortDeps = %v, want %v", got, want)
	}
}

func TestArch(t *testing.T) {
	for in, want := range map[string]string{
		"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm7": "armv7hl", "arm6": "armv6hl",
		"arm5": "armv5tel", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
		"mips64le": "mips64el", "loong64": "loongarch64", "all": "noarch", "": "noarch",
		"x86_64": "x86_64", "noarch": "noarch", "aarch64": "aarch64",
	} {
		if got := Arch(in); got != want {
			t.Errorf("Arch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		p    spec.Package
		want string
	}{
		{spec.Package{Name: "a", Version: "1.0", Arch: "amd64"}, "a-1.0-1.x86_64.rpm"},
		{spec.Package{Name: "a", Version: "1.0", Release: "2", Epoch: "3", Arch: "arm64"}, "a-1.0-2.aarch64.rpm"},
		{spec.Package{Name: "a", Version: "1.0", Prerelease: "rc1", Arch: "all"}, "a-1.0~rc1-1.noarch.rpm"},
	} {
		if got := FileName(&tc.p); got != tc.want {
			t.Errorf("FileName = %q, want %q", got, tc.want)
		}
	}
}

func TestInterpreter(t *testing.T) {
	for in, want := range map[string][]string{
		"echo hi":                   {"/bin/sh"},
		"#!/bin/bash\necho hi":      {"/bin/bash"},
		"#! /usr/bin/env python3\n": {"/usr/bin/env", "python3"},
		"#!\necho":                  {"/bin/sh"},
		"\n#!/bin/bash\necho":       {"/bin/sh"},
	} {
		if got := interpreter("", in); !reflect.DeepEqual(got, want) {
			t.Errorf("interpreter(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPad8(t *testing.T) {
	for n := 0; n < 16; n++ {
		if got := n + pad8(n); got%8 != 0 || got < n || got >= n+8 {
			t.Errorf("signature of %d bytes padded to %d", n, got)
		}
	}
}
