package push

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// packageSuffixes are the file names a directory argument expands to.
// Arch's packages are "*.pkg.tar.<compression>"; see IsPackageName.
var packageSuffixes = []string{".deb", ".udeb", ".ddeb", ".rpm", ".apk", ".tar.xz"}

// IsPackageName reports whether a file name looks like a package packhouse
// reads: *.deb, *.udeb, *.ddeb, *.rpm, *.apk, *.pkg.tar.* (not their .sig
// signatures) and *.tar.xz.
func IsPackageName(name string) bool {
	if strings.HasSuffix(name, ".sig") {
		return false
	}
	if strings.Contains(name, ".pkg.tar.") {
		return true
	}
	for _, s := range packageSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// ExpandPaths turns command-line arguments into the files to push. A file
// is taken whatever its name. A directory is searched recursively, skipping
// hidden directories, for files whose names pass IsPackageName (symbolic
// links to files count; links to directories are not followed), in lexical
// order; a directory holding none is an error, as it is probably the wrong
// one. A file named twice is pushed once.
func ExpandPaths(args []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	add := func(p string) error {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		if !seen[abs] {
			seen[abs] = true
			out = append(out, p)
		}
		return nil
	}
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file", arg)
			}
			if err := add(arg); err != nil {
				return nil, err
			}
			continue
		}
		found := 0
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != arg && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !IsPackageName(d.Name()) {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
					return nil
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			found++
			return add(p)
		})
		if err != nil {
			return nil, err
		}
		if found == 0 {
			return nil, fmt.Errorf("%s: no package files in this directory (looked for %s and *.pkg.tar.*)",
				arg, "*"+strings.Join(packageSuffixes, ", *"))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no files to push")
	}
	return out, nil
}
