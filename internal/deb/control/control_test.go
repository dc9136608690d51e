package control

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseParagraph(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Paragraph
	}{
		{"simple", "Package: hello\nVersion: 1.0\n", Paragraph{{"Package", "hello"}, {"Version", "1.0"}}},
		{"no final newline", "Package: hello", Paragraph{{"Package", "hello"}}},
		{"trims first line", "A:\t  x y \t\n", Paragraph{{"A", "x y"}}},
		{"no space after colon", "A:x\n", Paragraph{{"A", "x"}}},
		{"colon in value", "Depends: a (>= 1:2.0)\n", Paragraph{{"Depends", "a (>= 1:2.0)"}}},
		{"empty value", "A:\nB: b\n", Paragraph{{"A", ""}, {"B", "b"}}},
		{
			"multi-line kept verbatim",
			"Description: short\n long line  \n .\n\tindented\nB: b\n",
			Paragraph{{"Description", "short\n long line  \n .\n\tindented"}, {"B", "b"}},
		},
		{"empty first line", "Conffiles:\n /etc/a 123\n /etc/b 456\n", Paragraph{{"Conffiles", "\n /etc/a 123\n /etc/b 456"}}},
		{"first line trimmed before continuation", "A: x  \n y\n", Paragraph{{"A", "x\n y"}}},
		{"comments skipped", "# top\nA: a\n# mid\nB: b\n#end", Paragraph{{"A", "a"}, {"B", "b"}}},
		{"comment between continuation lines", "A: a\n b\n# c\n d\n", Paragraph{{"A", "a\n b\n d"}}},
		{"blank lines around", "\n\nA: a\n\n\n# c\n", Paragraph{{"A", "a"}}},
		{"odd but legal name", "X-Foo_Bar.Baz!: v\n", Paragraph{{"X-Foo_Bar.Baz!", "v"}}},
		{"non-ASCII value", "Maintainer: Jörg <j@example.org>\n", Paragraph{{"Maintainer", "Jörg <j@example.org>"}}},
		{"empty input", "", Paragraph{}},
		{"only comments", "# a\n# b\n", Paragraph{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParagraph([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseParagraphErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no colon", "Package hello\n", `line 1: no colon in "Package hello"`},
		{"continuation first", " hello\nA: b\n", `line 1: continuation line " hello" without a field`},
		{"continuation after blank", "A: a\n\n b\n", "line 3: more than one paragraph"},
		{"empty name", ": v\n", "line 1: empty field name"},
		{"space in name", "A: a\nNa me: v\n", `line 2: field name "Na me" contains ' '`},
		{"space before colon", "Name : v\n", `field name "Name " contains ' '`},
		{"tab in name", "Na\tme: v\n", `contains '\t'`},
		{"control char in name", "Na\x01me: v\n", `contains '\x01'`},
		{"non-ASCII name", "Nä: v\n", `field name "Nä" contains`},
		{"leading hyphen", "-A: v\n", `starts with '-'`},
		{"duplicate", "A: 1\nB: 2\nA: 3\n", `line 3: duplicate field "A"`},
		{"duplicate other case", "Package: 1\npackage: 2\n", `duplicate field "package"`},
		{"NUL in value", "A: a\x00b\n", "line 1: NUL byte"},
		{"NUL in name", "A\x00: a\n", "NUL byte"},
		{"CRLF", "A: a\r\nB: b\r\n", "line 1: carriage return"},
		{"lone CR", "A: a\rB: b\n", "carriage return"},
		{"blank line in value", "A: a\n \n b\n", `line 2: blank line in value of field "A"`},
		{"whitespace-only line", "\t\nA: a\n", "line 1: line of only whitespace"},
		{"two paragraphs", "A: a\n\nB: b\n", "line 3: more than one paragraph"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParagraph([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error, got %q", p)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDuplicateInLongParagraph(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("F")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(": v\n")
	}
	b.WriteString("fXXXXX: again\n")
	_, err := ParseParagraph([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), `line 101: duplicate field "fXXXXX"`) {
		t.Fatalf("got %v", err)
	}
}

func TestGetSetDel(t *testing.T) {
	p := Paragraph{{"Package", "a"}, {"Version", "1"}, {"Architecture", "all"}}
	if got := p.Get("package"); got != "a" {
		t.Errorf("Get(package) = %q", got)
	}
	if got := p.Get("Missing"); got != "" {
		t.Errorf("Get(Missing) = %q", got)
	}
	p.Set("X-Empty", "")
	if v, ok := p.Lookup("x-empty"); !ok || v != "" {
		t.Errorf("Lookup(x-empty) = %q, %v", v, ok)
	}
	if _, ok := p.Lookup("Nope"); ok {
		t.Error("Lookup(Nope) found a field")
	}
	p.Set("VERSION", "2")
	p.Set("Filename", "pool/a.deb")
	p.Del("architecture")
	p.Del("absent")
	want := Paragraph{{"Package", "a"}, {"VERSION", "2"}, {"X-Empty", ""}, {"Filename", "pool/a.deb"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %q, want %q", p, want)
	}

	dup := Paragraph{{"A", "1"}, {"B", "2"}, {"a", "3"}, {"C", "4"}, {"A", "5"}}
	dup.Set("a", "x")
	if want := (Paragraph{{"a", "x"}, {"B", "2"}, {"C", "4"}}); !reflect.DeepEqual(dup, want) {
		t.Errorf("Set on repeated field: got %q, want %q", dup, want)
	}
}

func TestWrite(t *testing.T) {
	p := Paragraph{
		{"Package", "hello"},
		{"Conffiles", "\n /etc/a 1"},
		{"X-Empty", ""},
		{"Description", "short\n long  \n ."},
	}
	want := "Package: hello\nConffiles:\n /etc/a 1\nX-Empty:\nDescription: short\n long  \n .\n"
	if got := string(p.AppendTo([]byte("prefix\n"))); got != "prefix\n"+want {
		t.Errorf("AppendTo = %q, want %q", got, "prefix\n"+want)
	}
	var b bytes.Buffer
	n, err := p.WriteTo(&b)
	if err != nil || n != int64(len(want)) || b.String() != want {
		t.Errorf("WriteTo = %d, %v, %q; want %d, nil, %q", n, err, b.String(), len(want), want)
	}
	if got := string(Paragraph(nil).AppendTo(nil)); got != "" {
		t.Errorf("empty paragraph wrote %q", got)
	}
}

func TestReader(t *testing.T) {
	in := "# header comment\n\n\nPackage: a\nDescription: x\n y\n\n# only a comment\n\nPackage: b\n\n\n\nPackage: c\nVersion: 1"
	r := NewReader(strings.NewReader(in), 1024)
	var got []Paragraph
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	want := []Paragraph{
		{{"Package", "a"}, {"Description", "x\n y"}},
		{{"Package", "b"}},
		{{"Package", "c"}, {"Version", "1"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after EOF = %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		good     int // paragraphs read before the error
		is       error
		want     string
	}{
		{"syntax error has file line", "A: a\n\nB: b\nbad line\n", 100, 1, ErrSyntax, "line 4: no colon"},
		{"too large", "A: a\n\nB: " + strings.Repeat("x", 100) + "\n", 50, 1, ErrTooLarge, "paragraph at line 3 is longer than 50 bytes"},
		{"long line without newline", strings.Repeat("x", 10000), 5000, 0, ErrTooLarge, "longer than 5000 bytes"},
		{"comments count", strings.Repeat("# comment\n", 10) + "A: a\n", 50, 0, ErrTooLarge, "line 1"},
		{"whitespace line between paragraphs", "A: a\n\n \nB: b\n", 100, 1, ErrSyntax, "line 3: line of only whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), tt.max)
			for i := range tt.good {
				if _, err := r.Next(); err != nil {
					t.Fatalf("paragraph %d: %v", i, err)
				}
			}
			_, err := r.Next()
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %v containing %q", err, tt.is, tt.want)
			}
			if _, again := r.Next(); again != err {
				t.Errorf("second Next = %v, want the same error", again)
			}
		})
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("A: a\n\nB: "), failingReader{boom}), 100)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != boom {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

func FuzzParseParagraph(f *testing.F) {
	for _, s := range []string{
		"Package: hello\nVersion: 1.0-1\nDescription: short\n long\n .\n more\n",
		"A:\n b\n# c\n d\n",
		"A: x  \n y\n\n",
		"# c\nA: a\n",
		"A: a\r\n",
		" a\n",
		"A: a\n\nB: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseParagraph(b)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		out := p.AppendTo(nil)
		q, err := ParseParagraph(out)
		if err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if len(p) == 0 && len(q) == 0 {
			return
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the paragraph:\n in  %q\n out %q", p, q)
		}
		if again := q.AppendTo(nil); !bytes.Equal(again, out) {
			t.Fatalf("second write differs: %q vs %q", out, again)
		}
	})
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("A: a\n\n\nB: b\n c\n\n# x\n"), 64)
	f.Add([]byte("A: a\n\nB b\n"), 8)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max <= 0 || max > 1<<16 {
			return
		}
		r := NewReader(bytes.NewReader(b), max)
		var out []byte
		for {
			p, err := r.Next()
			if err != nil {
				if err == io.EOF {
					break
				}
				if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(p) == 0 {
				t.Fatal("Next returned an empty paragraph")
			}
			out = append(p.AppendTo(out), '\n')
		}
		// What the Reader accepted it must accept again once rewritten.
		r = NewReader(bytes.NewReader(out), len(out)+1)
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("rewritten input %q: %v", out, err)
			}
		}
	})
}

var benchParagraph = []byte(`Package: libexample-dev
Source: example (1.2.3-4)
Version: 1.2.3-4+b1
Installed-Size: 1234
Maintainer: Example Maintainers <pkg-example@lists.example.org>
Architecture: amd64
Multi-Arch: same
Depends: libexample1 (= 1.2.3-4+b1), libfoo-dev (>= 2.0), libbar-dev
Description: example library - development files
 This package contains the header files and static library needed to
 compile applications that use the example library.
 .
 It is a line or two longer than most.
Homepage: https://example.org/
Section: libdevel
Priority: optional
Filename: pool/main/e/example/libexample-dev_1.2.3-4+b1_amd64.deb
Size: 123456
MD5sum: 0123456789abcdef0123456789abcdef
SHA256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
`)

func BenchmarkParseParagraph(b *testing.B) {
	b.SetBytes(int64(len(benchParagraph)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseParagraph(benchParagraph); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTo(b *testing.B) {
	p, err := ParseParagraph(benchParagraph)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(benchParagraph)))
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendTo(buf[:0])
	}
}
