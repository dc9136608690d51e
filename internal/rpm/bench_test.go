package rpm

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/packhouse/packhouse/internal/spec"
)

// BenchmarkWrite packs 64 MiB (half random, half zeros) in 64 files. For
// the comparison with rpmbuild on 1 GiB and on 20,000 files, with peak
// memory, see internal/rpmbench/bench.sh.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	p := &spec.Package{Name: "bench", Version: "1", Arch: "amd64", BuildTime: buildTime}
	const n, size = 64, 1 << 20
	buf := make([]byte, size)
	for i := range n {
		if i%2 == 0 {
			rand.Read(buf)
		} else {
			clear(buf)
		}
		name := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(name, buf, 0o644); err != nil {
			b.Fatal(err)
		}
		p.Contents = append(p.Contents, spec.Content{Type: spec.TypeFile, Source: name,
			Destination: "/opt/bench/" + strconv.Itoa(i), Mode: 0o644, Size: size})
	}
	for _, comp := range []string{"none", "gzip", "zstd"} {
		b.Run(comp, func(b *testing.B) {
			b.SetBytes(n * size)
			for b.Loop() {
				if err := Write(context.Background(), io.Discard, p, WriteOptions{Compression: comp, TempDir: dir}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead reads the headers of a package of 20,000 files, about
// the size of a large distribution package's file list.
func BenchmarkRead(b *testing.B) {
	p := &spec.Package{Name: "bench", Version: "1", Arch: "amd64", BuildTime: buildTime,
		Depends: []string{"bash >= 4", "coreutils", "(a or b)"}, Provides: []string{"bench-api = 2"}}
	for i := range 20000 {
		p.Contents = append(p.Contents, spec.Content{Type: spec.TypeGhost, Mode: 0o644,
			Destination: "/usr/share/bench/" + strconv.Itoa(i/100) + "/file-" + strconv.Itoa(i)})
	}
	data, err := os.ReadFile(writePackage(b, p, WriteOptions{TempDir: b.TempDir()}))
	if err != nil {
		b.Fatal(err)
	}
	info, err := Read(bytes.NewReader(data), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Meta.HeaderEnd)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
