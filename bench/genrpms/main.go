// Command genrpms writes N small .rpm files quickly, for benchmarks at a
// scale where rpmbuild would take too long to make them (the shared
// gen-rpms.sh makes about one a second on two busy cores). Same shape as
// gen-rpms.sh: names pkg-NNNNN, version 1.0-1, x86_64, one 4 KiB data file
// of random bytes at /usr/share/NAME/data.bin. They are written by
// packhouse's own rpm writer, which the tests check against rpm and
// createrepo_c.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/packhouse/packhouse/internal/rpm"
	"github.com/packhouse/packhouse/internal/spec"
)

const specText = `name: ${NAME}
version: 1.0
release: 1
arch: amd64
description: synthetic benchmark package ${N}
license: MIT
contents:
  - src: ./data.bin
    dst: /usr/share/${NAME}/data.bin
`

func main() {
	out := flag.String("out", "", "output folder")
	n := flag.Int("n", 20000, "number of packages")
	flag.Parse()
	if *out == "" {
		log.Fatal("give -out")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "genrpms-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(specText), 0o644); err != nil {
		log.Fatal(err)
	}
	data := make([]byte, 4096)
	for i := 1; i <= *n; i++ {
		name := fmt.Sprintf("pkg-%05d", i)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(dir, "data.bin"), data, 0o644); err != nil {
			log.Fatal(err)
		}
		env := map[string]string{"NAME": name, "N": fmt.Sprint(i), "SOURCE_DATE_EPOCH": "1700000000"}
		s, err := spec.Load(filepath.Join(dir, "nfpm.yaml"), spec.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			log.Fatal(err)
		}
		p, err := s.Resolve(spec.FormatRPM, "")
		if err != nil {
			log.Fatal(err)
		}
		f, err := os.Create(filepath.Join(*out, name+"-1.0-1.x86_64.rpm"))
		if err != nil {
			log.Fatal(err)
		}
		if err := rpm.Write(context.Background(), f, p, rpm.WriteOptions{TempDir: dir}); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
