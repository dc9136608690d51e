// Command gendebs writes N small .deb files quickly, for benchmarks at a
// scale where dpkg-deb would take too long to make them (100,000 take
// dpkg-deb some 20 minutes). Same shape as the shared gen-debs.sh: names
// pkg-NNNNNN, version 1.0-1, every fifth one Architecture: all, a
// dependency chain, one data file of random bytes.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/packhouse/packhouse/internal/debtest"
)

func main() {
	out := flag.String("out", "", "output folder")
	n := flag.Int("n", 10000, "number of packages")
	kb := flag.Int("kb", 4, "size of each package's data file, KiB")
	first := flag.Int("first", 1, "number of the first package")
	version := flag.String("version", "1.0-1", "version of every package")
	flag.Parse()
	if *out == "" {
		log.Fatal("give -out")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	data := make([]byte, *kb*1024)
	for i := *first; i < *first+*n; i++ {
		name := fmt.Sprintf("pkg-%06d", i)
		arch := "amd64"
		if i%5 == 0 {
			arch = "all"
		}
		dep := ""
		if i > 1 {
			dep = fmt.Sprintf("pkg-%06d (>= 1.0)", i-1)
		}
		rand.Read(data)
		b := debtest.Make(debtest.Spec{Name: name, Version: *version, Arch: arch, Depends: dep,
			Description: fmt.Sprintf("synthetic benchmark package %d", i),
			Files:       map[string]string{"usr/share/" + name + "/data.bin": string(data)}})
		if err := os.WriteFile(filepath.Join(*out, fmt.Sprintf("%s_%s_%s.deb", name, *version, arch)), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
