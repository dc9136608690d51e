// Command buildbench makes the payloads bench.sh packages: one large file,
// or many small ones, with content that compresses about as well as
// program binaries do (gzip -6 gets about 2.5:1), the same on every run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
)

func main() {
	size := flag.Int64("size", 0, "write one file of this many bytes to -out")
	files := flag.Int("files", 0, "write this many small files under the directory -out")
	out := flag.String("out", "", "output file or directory")
	flag.Parse()
	if *out == "" || (*size == 0) == (*files == 0) {
		log.Fatal("usage: buildbench -out PATH (-size BYTES | -files N)")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if *size > 0 {
		if err := writeFile(*out, *size, rng); err != nil {
			log.Fatal(err)
		}
		return
	}
	for i := range *files {
		// 100 directories; sizes from 0.5 to 16 KiB, like a tree of
		// scripts, headers and small libraries.
		p := filepath.Join(*out, fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%05d.dat", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := writeFile(p, 512+rng.Int64N(16<<10), rng); err != nil {
			log.Fatal(err)
		}
	}
}

// writeFile writes n bytes of 4 KiB blocks: mostly words from a small
// vocabulary (text, symbol tables), one block in eight random (code,
// already-compressed data).
func writeFile(path string, n int64, rng *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	words := make([][]byte, 512)
	for i := range words {
		words[i] = make([]byte, 2+rng.IntN(10))
		for j := range words[i] {
			words[i][j] = byte('a' + rng.IntN(26))
		}
	}
	block := make([]byte, 0, 4096)
	for n > 0 {
		block = block[:0]
		if rng.IntN(8) == 0 {
			for len(block) < 4096 {
				block = append(block, byte(rng.Uint32()))
			}
		} else {
			for len(block) < 4096 {
				block = append(block, words[rng.IntN(len(words))]...)
				block = append(block, ' ')
			}
		}
		block = block[:min(int64(len(block)), 4096, n)]
		if _, err := w.Write(block); err != nil {
			return err
		}
		n -= int64(len(block))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
