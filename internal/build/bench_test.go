package build

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/packhouse/packhouse/internal/spec"
)

// BenchmarkBuild writes 64 MiB in 64 files (text-like with one block in
// eight random, as internal/buildbench makes) in each format. For the
// comparison with dpkg-deb on 1 GiB and on 20,000 files, with peak memory,
// see internal/buildbench/bench.sh.
func BenchmarkBuild(b *testing.B) {
	src := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	const n, size = 64, 1 << 20
	buf := make([]byte, size)
	yaml := "name: bench\narch: amd64\nversion: 1.0.0\nmaintainer: Bench <b@example.com>\ncontents:\n"
	for i := range n {
		for j := 0; j < size; j += 4096 {
			random := rng.IntN(8) == 0
			for k := j; k < j+4096; k++ {
				if random {
					buf[k] = byte(rng.Uint32())
				} else {
					buf[k] = byte('a' + rng.IntN(8))
				}
			}
		}
		name := strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(src, name), buf, 0o644); err != nil {
			b.Fatal(err)
		}
		yaml += "  - src: " + name + "\n    dst: /opt/bench/" + name + "\n"
	}
	specPath := filepath.Join(src, "nfpm.yaml")
	if err := os.WriteFile(specPath, []byte(yaml), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := spec.Load(specPath, spec.Options{LookupEnv: func(string) (string, bool) { return "1700000000", true }})
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	for _, f := range []string{"deb", "rpm", "apk", "archlinux", "tar.gz", "zip"} {
		b.Run(f, func(b *testing.B) {
			b.SetBytes(n * size)
			for b.Loop() {
				if _, err := Build(context.Background(), s, []string{f}, nil, out, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
