// Command rpmbench packs a directory tree into an rpm with package rpm, for
// bench.sh to compare against rpmbuild on the same tree.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/packhouse/packhouse/internal/rpm"
	"github.com/packhouse/packhouse/internal/spec"
)

func main() {
	src := flag.String("src", "", "directory to pack")
	prefix := flag.String("prefix", "/opt/bench", "where the directory is installed")
	out := flag.String("out", "bench.rpm", "package file to write")
	comp := flag.String("compression", "gzip", "gzip, xz, zstd or none")
	level := flag.Int("level", 0, "compression level, 0 for the default")
	flag.Parse()
	// As packhouse build does: the heap's soft limit keeps the garbage
	// collector from letting it double.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(40 << 20)
	}
	if err := run(*src, *prefix, *out, *comp, *level); err != nil {
		fmt.Fprintln(os.Stderr, "rpmbench:", err)
		os.Exit(1)
	}
}

func run(src, prefix, out, comp string, level int) error {
	mtime := time.Unix(1700000000, 0)
	p := &spec.Package{
		Name: "bench", Version: "1.0", Release: "1", Arch: "amd64",
		Summary: "benchmark", License: "MIT", BuildTime: mtime,
	}
	err := filepath.WalkDir(src, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, name)
		dst := path.Join(prefix, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		c := spec.Content{Destination: dst, Mode: info.Mode().Perm(), MTime: mtime}
		switch {
		case d.IsDir():
			c.Type = spec.TypeDir
		case info.Mode().IsRegular():
			c.Type, c.Source, c.Size = spec.TypeFile, name, info.Size()
		default:
			return nil
		}
		p.Contents = append(p.Contents, c)
		return nil
	})
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := rpm.Write(context.Background(), f, p, rpm.WriteOptions{Compression: comp, Level: level, TempDir: filepath.Dir(out)}); err != nil {
		return err
	}
	return f.Close()
}
