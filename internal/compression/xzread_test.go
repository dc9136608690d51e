package compression

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/packhouse/packhouse/internal/iolimit"
	"github.com/ulikunitz/xz"
)

// The testdata files are the control.tar.xz members of the deb package's
// hello-xz.deb and hello-xz-huge-dict.deb, whose block header asks for a
// 4 GiB dictionary (internal/deb/testdata/gen.go makes them).

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func bufioReader(b []byte) *bufio.Reader {
	return bufio.NewReader(bytes.NewReader(b))
}

func TestXZAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	text := make([]byte, 300<<10)
	for i := range text {
		text[i] = "abcdefgh \n"[rng.IntN(10)]
	}
	for _, cfg := range []xz.WriterConfig{
		{CheckSum: xz.CRC64},
		{CheckSum: xz.CRC32, BlockSize: 4096},
		{CheckSum: xz.SHA256, BlockSize: 100 << 10},
		{NoCheckSum: true, BlockSize: 64 << 10},
	} {
		var buf bytes.Buffer
		w, err := cfg.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(text)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(newXzReader(bufioReader(buf.Bytes()), 1<<20))
		if err != nil {
			t.Errorf("%+v: %v", cfg, err)
			continue
		}
		if !bytes.Equal(got, text) {
			t.Errorf("%+v: decoded %d bytes that differ from the input", cfg, len(got))
		}
	}
}

func TestXZStreams(t *testing.T) {
	xzData := readTestdata(t, "control.tar.xz")
	ref, err := xz.NewReader(bytes.NewReader(xzData))
	if err != nil {
		t.Fatal(err)
	}
	want, err := io.ReadAll(ref)
	if err != nil {
		t.Fatal(err)
	}
	// Streams may be concatenated, with padding between them.
	two := append(append(bytes.Clone(xzData), 0, 0, 0, 0), xzData...)
	got, err := io.ReadAll(newXzReader(bufioReader(two), 1<<20))
	if err != nil || !bytes.Equal(got, append(bytes.Clone(want), want...)) {
		t.Errorf("two streams: %d bytes, %v", len(got), err)
	}
	for name, bad := range map[string][]byte{
		"odd padding":       append(bytes.Clone(xzData), 0, 0),
		"garbage after":     append(bytes.Clone(xzData), "junk"...),
		"no footer":         xzData[:len(xzData)-12],
		"bad block check":   flip(xzData, len(xzData)-12-12-4),
		"bad index":         flip(xzData, len(xzData)-12-5),
		"bad block header":  flip(xzData, 14),
		"bad stream header": flip(xzData, 7),
		"bad footer":        flip(xzData, len(xzData)-1),
		"not xz":            []byte("hello"),
		"empty":             nil,
	} {
		if _, err := io.Copy(io.Discard, newXzReader(bufioReader(bad), 1<<20)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x01
	return b
}

func FuzzXZ(f *testing.F) {
	for _, file := range []string{"control.tar.xz", "control-huge-dict.tar.xz"} {
		f.Add(readTestdata(f, file))
	}
	for _, cfg := range []xz.WriterConfig{{CheckSum: xz.CRC32, BlockSize: 512}, {NoCheckSum: true}} {
		var buf bytes.Buffer
		w, _ := cfg.NewWriter(&buf)
		w.Write(bytes.Repeat([]byte("control file "), 200))
		w.Close()
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 1 << 20
		n, _ := io.Copy(io.Discard, &iolimit.Reader{R: newXzReader(bufioReader(b), limit), N: limit, Err: errors.New("limit")})
		if n > limit {
			t.Fatalf("read %d bytes past the limit", n)
		}
	})
}
