// Package debtest makes small, valid .deb files for tests, in memory.
// dpkg-deb accepts what it makes; tests that check against dpkg itself
// use real files from testdata instead.
package debtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"time"
)

// Spec describes a package.
type Spec struct {
	Name, Version, Arch string
	Depends             string
	Description         string
	Files               map[string]string // path in the package → content
	Postinst            string            // maintainer script, if any
}

// Make returns the bytes of a .deb for spec.
func Make(spec Spec) []byte {
	if spec.Arch == "" {
		spec.Arch = "all"
	}
	if spec.Description == "" {
		spec.Description = "test package " + spec.Name
	}
	var control strings.Builder
	fmt.Fprintf(&control, "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.org>\n", spec.Name, spec.Version, spec.Arch)
	if spec.Depends != "" {
		fmt.Fprintf(&control, "Depends: %s\n", spec.Depends)
	}
	fmt.Fprintf(&control, "Description: %s\n a package made for a test\n", spec.Description)
	ctl := map[string]string{"./control": control.String()}
	if spec.Postinst != "" {
		ctl["./postinst"] = spec.Postinst
	}
	data := map[string]string{}
	for p, c := range spec.Files {
		data["./"+strings.TrimPrefix(p, "/")] = c
	}
	return Ar(map[string][]byte{
		"debian-binary":  []byte("2.0\n"),
		"control.tar.gz": TarGz(ctl),
		"data.tar.gz":    TarGz(data),
	}, "debian-binary", "control.tar.gz", "data.tar.gz")
}

var epoch = time.Unix(1700000000, 0)

// TarGz makes a gzipped tar of files, with parent directories.
func TarGz(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	for _, name := range sortedKeys(files) {
		parts := strings.Split(name, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: epoch})
			}
		}
		mode := int64(0o644)
		if strings.HasSuffix(name, "inst") || strings.HasSuffix(name, "rm") || strings.Contains(name, "/bin/") {
			mode = 0o755
		}
		tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(files[name])), Typeflag: tar.TypeReg, ModTime: epoch})
		tw.Write([]byte(files[name]))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// Ar makes an ar archive of members, in the given order.
func Ar(members map[string][]byte, order ...string) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, name := range order {
		data := members[name]
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, epoch.Unix(), 0, 0, "100644", len(data))
		buf.Write(data)
		if len(data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
