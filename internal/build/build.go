package build

import (
	"bufio"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/packhouse/packhouse/internal/apk"
	"github.com/packhouse/packhouse/internal/arch"
	"github.com/packhouse/packhouse/internal/archive"
	"github.com/packhouse/packhouse/internal/deb"
	"github.com/packhouse/packhouse/internal/rpm"
	"github.com/packhouse/packhouse/internal/spec"
)

// Options are what the writers need beyond the package itself.
type Options struct {
	// TempDir holds the payloads that formats must size or hash before
	// writing their headers; the target directory when empty, so that
	// large payloads do not fill a small /tmp.
	TempDir string
	// APKKey signs apk packages, stored under APKKeyName (the spec's
	// apk.signature.key_name, or the maintainer's address, when empty).
	// Without a key, apks are unsigned.
	APKKey     *rsa.PrivateKey
	APKKeyName string
	// RPMSigner signs rpm headers. When nil, the spec's
	// rpm.signature.key_file is used, if it names one.
	RPMSigner *openpgp.Entity
	// LookupEnv finds the passphrase of an encrypted rpm key;
	// os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Version is packhouse's own, recorded where a format names its
	// build tool (Arch's .BUILDINFO).
	Version string
	Log     *slog.Logger
}

// Format is one kind of output file.
type Format struct {
	// Name is how --packager names it.
	Name string
	// Spec is the spec format its packages are resolved as.
	Spec     string
	FileName func(p *spec.Package) (string, error)
	Write    func(ctx context.Context, w io.Writer, p *spec.Package, opts Options) error
}

// formats is the registry: every output packhouse can write.
var formats = map[string]Format{
	"deb": {Name: "deb", Spec: spec.FormatDeb, FileName: deb.WriteFileName,
		Write: func(ctx context.Context, w io.Writer, p *spec.Package, o Options) error {
			return deb.Write(ctx, w, p, deb.WriteOptions{TempDir: o.TempDir})
		}},
	"rpm": {Name: "rpm", Spec: spec.FormatRPM,
		FileName: func(p *spec.Package) (string, error) {
			if _, err := spec.FullVersion(spec.FormatRPM, p); err != nil {
				return "", err
			}
			return rpm.FileName(p), nil
		},
		Write: func(ctx context.Context, w io.Writer, p *spec.Package, o Options) error {
			return rpm.Write(ctx, w, p, rpm.WriteOptions{TempDir: o.TempDir, Signer: o.RPMSigner})
		}},
	"apk": {Name: "apk", Spec: spec.FormatAPK, FileName: apk.FileName,
		Write: func(ctx context.Context, w io.Writer, p *spec.Package, o Options) error {
			return apk.Write(ctx, w, p, apk.WriteOptions{TempDir: o.TempDir, Key: o.APKKey, KeyName: o.APKKeyName})
		}},
	"archlinux": {Name: "archlinux", Spec: spec.FormatArchLinux, FileName: arch.FileName,
		Write: func(ctx context.Context, w io.Writer, p *spec.Package, o Options) error {
			return arch.Write(ctx, w, p, arch.WriteOptions{BuildToolVersion: o.Version})
		}},
}

func init() {
	for _, kind := range archive.Kinds {
		kind := kind
		formats[kind] = Format{Name: kind, Spec: spec.FormatArchive,
			FileName: func(p *spec.Package) (string, error) { return archive.FileName(p, kind) },
			Write: func(ctx context.Context, w io.Writer, p *spec.Package, o Options) error {
				return archive.Write(ctx, w, p, archive.WriteOptions{Kind: kind})
			}}
	}
}

// aliases are other names --packager accepts.
var aliases = map[string]string{"archive": archive.TarXz, "arch": "archlinux", "pacman": "archlinux", "tgz": archive.TarGz, "txz": archive.TarXz}

// Formats lists the format names, sorted.
func Formats() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup finds a format by name or alias.
func Lookup(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	f, ok := formats[n]
	if !ok {
		return Format{}, fmt.Errorf("unknown packager %q (one of %s, or archive for tar.xz)", name, strings.Join(Formats(), ", "))
	}
	return f, nil
}

// Result is one file written.
type Result struct {
	Format string
	Arch   string // in the format's naming
	Path   string
	Size   int64
}

// job is one package to write, resolved.
type job struct {
	format Format
	pkg    *spec.Package
	name   string
}

// Build writes one package per format and architecture into dir. Every
// combination is resolved before anything is written, so that a spec
// error is reported at once rather than after the first large package.
// arches empty means the spec's own architecture.
func Build(ctx context.Context, s *spec.Spec, formatNames, arches []string, dir string, opts Options) ([]Result, error) {
	if len(formatNames) == 0 {
		return nil, errors.New("no packager given")
	}
	if len(arches) == 0 {
		arches = []string{""}
	}
	var jobs []job
	seen := map[string]string{}
	for _, fn := range formatNames {
		f, err := Lookup(fn)
		if err != nil {
			return nil, err
		}
		for _, a := range arches {
			p, err := s.Resolve(f.Spec, a)
			if err != nil {
				return nil, err
			}
			name, err := f.FileName(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if other, dup := seen[name]; dup {
				// armv6 and armv7 are both armhf in Debian, for one.
				opts.logger().Warn("two architectures give the same file; building it once", "file", name, "arch", a, "also", other)
				continue
			}
			seen[name] = a
			jobs = append(jobs, job{format: f, pkg: p, name: name})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if opts.TempDir == "" {
		opts.TempDir = dir
	}
	var results []Result
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r, err := write(ctx, j.format, j.pkg, filepath.Join(dir, j.name), opts)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

// Write writes one package, already resolved for f, into dir under the
// format's conventional name.
func Write(ctx context.Context, f Format, p *spec.Package, dir string, opts Options) (Result, error) {
	name, err := f.FileName(p)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", f.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, err
	}
	if opts.TempDir == "" {
		opts.TempDir = dir
	}
	return write(ctx, f, p, filepath.Join(dir, name), opts)
}

func write(ctx context.Context, f Format, p *spec.Package, path string, opts Options) (Result, error) {
	if f.Spec == spec.FormatAPK && opts.APKKeyName == "" {
		opts.APKKeyName = p.SigningKeyName
	}
	if f.Spec == spec.FormatRPM && opts.RPMSigner == nil && p.SigningKeyFile != "" {
		e, err := LoadOpenPGPKey(p.SigningKeyFile, opts.LookupEnv)
		if err != nil {
			return Result{}, fmt.Errorf("rpm signing key: %w", err)
		}
		opts.RPMSigner = e
	}
	size, err := writeFile(ctx, path, func(w io.Writer) error { return f.Write(ctx, w, p, opts) })
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	opts.logger().Info("built", "file", path, "format", f.Name, "arch", p.Arch, "size", size)
	return Result{Format: f.Name, Arch: p.Arch, Path: path, Size: size}, nil
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// writeFile writes through a temporary file in the same directory and
// renames it into place, so that a failed or interrupted build never
// leaves a truncated package where a good one is expected.
func writeFile(ctx context.Context, path string, write func(io.Writer) error) (int64, error) {
	fw, err := newFileWriter(path)
	if err != nil {
		return 0, err
	}
	defer fw.Cancel()
	bw := &bufferedFile{bufio.NewWriterSize(fw, 256<<10), fw}
	if err := write(bw); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return fw.Commit()
}

// bufferedFile buffers sequential writes, and still lets a writer that
// places parts of its output itself (rpm writes its headers after the
// payload, in front of it) write at an offset and seek: both flush first.
type bufferedFile struct {
	*bufio.Writer
	fw *fileWriter
}

func (b *bufferedFile) WriteAt(p []byte, off int64) (int, error) {
	if err := b.Flush(); err != nil {
		return 0, err
	}
	return b.fw.f.WriteAt(p, off)
}

func (b *bufferedFile) Seek(offset int64, whence int) (int64, error) {
	if err := b.Flush(); err != nil {
		return 0, err
	}
	return b.fw.f.Seek(offset, whence)
}

// fileWriter is a file being written under a temporary name.
type fileWriter struct {
	f    *os.File
	path string
	done bool
}

func newFileWriter(path string) (*fileWriter, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &fileWriter{f: f, path: path}, nil
}

func (w *fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// ReadFrom lets a copy from a file (a deb's or apk's staged data section)
// happen in the kernel, with copy_file_range, instead of through memory.
func (w *fileWriter) ReadFrom(r io.Reader) (int64, error) { return w.f.ReadFrom(r) }

// Commit makes the file visible under its name.
func (w *fileWriter) Commit() (int64, error) {
	if w.done {
		return 0, errors.New("already committed or cancelled")
	}
	// No fsync: a package is an output that a crashed build redoes, and
	// syncing a 1 GiB file costs seconds. The rename alone keeps readers
	// from ever seeing a partial file.
	if err := w.f.Chmod(0o644); err != nil {
		return 0, err
	}
	st, err := w.f.Stat() // written at offsets, too
	if err != nil {
		return 0, err
	}
	if err := w.f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(w.f.Name(), w.path); err != nil {
		return 0, err
	}
	w.done = true
	return st.Size(), nil
}

// Cancel removes the temporary file; safe to call after Commit and twice.
func (w *fileWriter) Cancel() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}
