package compression

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func decompress(t *testing.T, algo string, data []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch algo {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(data))
	case Xz:
		r, err = xz.NewReader(bytes.NewReader(data))
	case Zstd:
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(data))
		r = d
	case None:
		r = bytes.NewReader(data)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRoundTrip writes in odd-sized pieces across several async chunks
// and expects the input back, and the same bytes from a second run.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	in := make([]byte, 3*asyncChunk+12345)
	for i := range in {
		in[i] = byte('a' + rng.IntN(4))
	}
	for _, algo := range []string{None, Gzip, Xz, Zstd} {
		t.Run(algo, func(t *testing.T) {
			compress := func() []byte {
				var b bytes.Buffer
				w, err := NewWriter(&b, algo, 0)
				if err != nil {
					t.Fatal(err)
				}
				for p := in; len(p) > 0; {
					n := min(len(p), 1+rng.IntN(300000))
					if _, err := w.Write(p[:n]); err != nil {
						t.Fatal(err)
					}
					p = p[n:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				return b.Bytes()
			}
			a, b := compress(), compress()
			if !bytes.Equal(decompress(t, algo, a), in) {
				t.Error("round trip differs")
			}
			if !bytes.Equal(a, b) {
				t.Error("two runs differ")
			}
		})
	}
}

type failWriter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errDisk
	}
	return len(p), nil
}

func TestAsyncReportsErrors(t *testing.T) {
	w, err := NewWriter(&failWriter{n: 1000}, Zstd, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, asyncChunk)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	var werr error
	for i := 0; i < 20 && werr == nil; i++ {
		_, werr = w.Write(junk)
	}
	cerr := w.Close()
	if !errors.Is(werr, errDisk) && !errors.Is(cerr, errDisk) {
		t.Errorf("write %v, close %v; want %v", werr, cerr, errDisk)
	}
}

func TestEmptyStream(t *testing.T) {
	for _, algo := range []string{Gzip, Xz, Zstd} {
		var b bytes.Buffer
		w, err := NewWriter(&b, algo, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("%s: second Close: %v", algo, err)
		}
		if got := decompress(t, algo, b.Bytes()); len(got) != 0 {
			t.Errorf("%s: %d bytes from an empty stream", algo, len(got))
		}
	}
}

// TestXzBlocksWithXzTool has xz(1) check the multi-block stream and list
// its blocks.
func TestXzBlocksWithXzTool(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	in := make([]byte, 2*xzBlock+1000)
	for i := range in {
		in[i] = byte(i % 251)
	}
	var b bytes.Buffer
	w, _ := NewWriter(&b, Xz, 0)
	w.Write(in)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "x.xz")
	os.WriteFile(f, b.Bytes(), 0o644)
	out, err := exec.Command("xz", "--robot", "-lv", f).CombinedOutput()
	if err != nil {
		t.Fatalf("xz -l: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "\nblock\t1\t1\t") || !strings.Contains(string(out), "\nblock\t1\t3\t") {
		t.Errorf("want three blocks:\n%s", out)
	}
	got, err := exec.Command("xz", "-dc", f).Output()
	if err != nil || !bytes.Equal(got, in) {
		t.Errorf("xz -d: %v", err)
	}
}
