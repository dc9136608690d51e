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

func TestNewReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	in := make([]byte, 200000)
	for i := range in {
		in[i] = byte('a' + rng.IntN(4))
	}
	for _, algo := range []string{None, Gzip, Xz, Zstd} {
		var b bytes.Buffer
		w, _ := NewWriter(&b, algo, 0)
		w.Write(in)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(b.Bytes()), algo, 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("%s: %d bytes, %v", algo, len(got), err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("%s: Close: %v", algo, err)
		}
	}
	if _, err := NewReader(bytes.NewReader([]byte("not gzip")), Gzip, 1<<20); err == nil {
		t.Error("gzip: no error for a bad header")
	}
}

// TestNewReaderWindow gives the reader less history than streams need
// that refer 2 MiB back.
func TestNewReaderWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	half := make([]byte, 2<<20)
	for i := range half {
		half[i] = byte(rng.Uint32())
	}
	in := append(bytes.Clone(half), half...)

	var zb bytes.Buffer
	zw, err := zstd.NewWriter(&zb, zstd.WithWindowSize(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(in)
	zw.Close()
	var xb bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 4 << 20}.NewWriter(&xb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(in)
	xw.Close()

	for _, tc := range []struct {
		algo string
		data []byte
	}{{Zstd, zb.Bytes()}, {Xz, xb.Bytes()}} {
		read := func(window int64) ([]byte, error) {
			r, err := NewReader(bytes.NewReader(tc.data), tc.algo, window)
			if err != nil {
				return nil, err
			}
			defer r.Close()
			return io.ReadAll(r)
		}
		if got, err := read(8 << 20); err != nil || !bytes.Equal(got, in) {
			t.Errorf("%s, 8 MiB window: %d bytes, %v", tc.algo, len(got), err)
		}
		if _, err := read(1 << 20); !errors.Is(err, ErrWindow) {
			t.Errorf("%s, 1 MiB window: %v, want ErrWindow", tc.algo, err)
		}
	}
}
