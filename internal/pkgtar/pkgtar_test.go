package pkgtar

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/spec"
)

func TestWriteAndHeader(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("hello"), 0o644)
	mt := time.Unix(1700000000, 0).UTC()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	w := NewWriter(tw, "./", tar.FormatGNU)
	entries := []spec.Content{
		{Type: spec.TypeDir, Destination: "/usr", Mode: 0o755, MTime: mt},
		{Type: spec.TypeFile, Destination: "/usr/f", Source: src, Size: 5, Mode: 0o755 | fs.ModeSetuid, Owner: "daemon", MTime: mt},
		{Type: spec.TypeSymlink, Destination: "/usr/l", Target: "f", Mode: 0o777, MTime: mt},
		{Type: spec.TypeGhost, Destination: "/var/log/x"},
	}
	for i := range entries {
		if InPayload(&entries[i]) {
			if err := w.Write(context.Background(), &entries[i], nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	tw.Close()
	tr := tar.NewReader(&b)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
		if h.Name == "./usr/f" && (h.Mode != 0o4755 || h.Uname != "daemon" || h.Gname != "root" || h.Uid != 0 || !h.ModTime.Equal(mt)) {
			t.Errorf("header %+v", h)
		}
	}
	if want := []string{"./usr/", "./usr/f", "./usr/l"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("names %v, want %v", got, want)
	}
}

func TestCopyFileNoticesChanges(t *testing.T) {
	src := filepath.Join(t.TempDir(), "f")
	os.WriteFile(src, []byte("hello"), 0o644)
	buf := make([]byte, 16)
	for _, size := range []int64{4, 6} {
		c := &spec.Content{Source: src, Size: size}
		if err := CopyFile(context.Background(), io.Discard, c, buf); !errors.Is(err, ErrChanged) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	// Any buffer size copies the file whole, and one that ends at the
	// file's last byte still notices growth.
	for _, n := range []int{1, 2, 4, 5, 6, 16} {
		for size, ok := range map[int64]bool{4: false, 5: true, 6: false} {
			var out bytes.Buffer
			err := CopyFile(context.Background(), &out, &spec.Content{Source: src, Size: size}, make([]byte, n))
			if ok && (err != nil || out.String() != "hello") {
				t.Errorf("buffer %d: %q, %v", n, out.String(), err)
			}
			if !ok && !errors.Is(err, ErrChanged) {
				t.Errorf("buffer %d, size %d: %v", n, size, err)
			}
		}
	}
	empty := filepath.Join(t.TempDir(), "e")
	os.WriteFile(empty, nil, 0o644)
	if err := CopyFile(context.Background(), io.Discard, &spec.Content{Source: empty}, buf); err != nil {
		t.Errorf("empty file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := CopyFile(ctx, io.Discard, &spec.Content{Source: src, Size: 5}, buf); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
