//go:build ignore

// gen writes the .deb files under testdata: the well-formed ones with the
// real dpkg-deb, the broken ones by taking those apart and putting them
// back together wrongly. Run it with go generate in internal/deb; it needs
// dpkg-deb and bzip2 on PATH.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// epoch fixes every timestamp, so that the files are the same each run.
const epoch = 1700000000

var dir = flag.String("dir", ".", "directory to write the .deb files to")

const controlText = `Package: hello
Version: 1:1.0~rc1-1
Architecture: amd64
Maintainer: Packhouse Tests <tests@example.com>
Installed-Size: 1
Section: misc
Priority: optional
Description: test package
 A package for the tests of the deb reader.
 .
 Second paragraph.
`

func main() {
	log.SetFlags(0)
	flag.Parse()

	src, err := os.MkdirTemp("", "debsrc")
	check(err)
	defer os.RemoveAll(src)
	check(os.Chmod(src, 0o755))
	files := map[string]string{
		"DEBIAN/control":             controlText,
		"DEBIAN/conffiles":           "/etc/hello.conf\nremove-on-upgrade /etc/hello-old.conf\n",
		"DEBIAN/postinst":            "#!/bin/sh\nexit 0\n",
		"DEBIAN/md5sums":             "b1946ac92492d2347c6235b4d2611184  usr/share/doc/hello/README\n",
		"etc/hello.conf":             "greeting=hello\n",
		"usr/share/doc/hello/README": "hello\n",
	}
	for name, content := range files {
		p := filepath.Join(src, name)
		check(os.MkdirAll(filepath.Dir(p), 0o755))
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "postinst") {
			mode = 0o755
		}
		check(os.WriteFile(p, []byte(content), mode))
	}

	// The real thing, one per control.tar compression dpkg-deb offers.
	good := map[string][]byte{}
	for _, c := range []string{"gzip", "xz", "zstd", "none"} {
		out := filepath.Join(*dir, "hello-"+c+".deb")
		cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+c, "--build", src, out)
		cmd.Env = append(os.Environ(), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", epoch))
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		check(cmd.Run())
		b, err := os.ReadFile(out)
		check(err)
		good[c] = b
	}
	gz := members(good["gzip"])
	none := members(good["none"])
	bin, ctrl, data := gz[0], gz[1], gz[2]

	// Well-formed variants dpkg accepts but dpkg-deb does not write.
	write("hello-gnu-ar.deb", debGNU(bin, ctrl, data))
	write("hello-signed.deb", deb(bin, ctrl, data, member{"_gpgorigin", []byte("-----BEGIN PGP SIGNATURE-----\n...\n")}))
	write("hello-underscore-member.deb", deb(bin, member{"_extra", []byte("odd")}, ctrl, data))
	write("hello-data-bz2.deb", deb(bin, ctrl, member{"data.tar.bz2", bzip2(none[2].data)}))
	write("hello-xz-huge-dict.deb", deb(bin, member{"control.tar.xz", hugeDict(members(good["xz"])[1].data)}, data))

	// The ar container.
	g := good["gzip"]
	write("bad-magic.deb", append([]byte("!<arhc>\n"), g[8:]...))
	write("empty.deb", nil)
	write("not-ar.deb", []byte("PK\x03\x04 this is a zip file, not a deb\n"))
	write("truncated.deb", good["xz"][:len(good["xz"])-100])
	write("truncated-header.deb", g[:8+60+4+30])
	write("trailing-garbage.deb", append(bytes.Clone(g), "garbage after the last member\n"...))
	write("member-order.deb", deb(bin, data, ctrl))
	write("missing-data.deb", deb(bin, ctrl))
	write("missing-control.deb", deb(bin, data))
	write("first-not-debian-binary.deb", deb(ctrl, bin, data))
	write("debian-binary-3.deb", deb(member{"debian-binary", []byte("3.0\n")}, ctrl, data))
	write("control-bz2.deb", deb(bin, member{"control.tar.bz2", ctrl.data}, data))
	write("duplicate-data.deb", deb(bin, ctrl, data, data))
	bad := deb(bin, ctrl, data)
	copy(bad[8+60+4+48:], "12a       ")
	write("bad-member-size.deb", bad)
	bad = deb(bin, ctrl, data)
	copy(bad[8+58:], "``")
	write("bad-member-terminator.deb", bad)
	bad = deb(bin, member{"_odd", []byte("abc")}, ctrl, data)
	bad[8+60+4+60+3] = 'X'
	write("bad-padding.deb", bad)

	// The control archive.
	ctl := func(entries ...entry) member {
		return member{"control.tar.gz", gzipped(tarball(entries...))}
	}
	controlEntry := entry{name: "./control", body: controlText}
	write("control-dotdot.deb", deb(bin, ctl(controlEntry, entry{name: "../evil", body: "x"}), data))
	write("control-dotdot-inside.deb", deb(bin, ctl(controlEntry, entry{name: "./a/../postinst", body: "x"}), data))
	write("control-absolute.deb", deb(bin, ctl(controlEntry, entry{name: "/etc/passwd", body: "x"}), data))
	write("control-symlink-outside.deb", deb(bin, ctl(controlEntry, entry{name: "./postinst", link: "../../bin/sh", typ: tar.TypeSymlink}), data))
	write("control-symlink-inside.deb", deb(bin, ctl(controlEntry,
		entry{name: "./scripts/", typ: tar.TypeDir},
		entry{name: "./scripts/postinst", body: "#!/bin/sh\n"},
		entry{name: "./postinst", link: "scripts/postinst", typ: tar.TypeSymlink},
		entry{name: "./prerm", link: "./scripts/postinst", typ: tar.TypeLink}), data))
	write("control-below-symlink.deb", deb(bin, ctl(controlEntry,
		entry{name: "./d", link: ".", typ: tar.TypeSymlink},
		entry{name: "./d/x", link: "../y", typ: tar.TypeSymlink}), data))
	write("control-hardlink-outside.deb", deb(bin, ctl(controlEntry, entry{name: "./postinst", link: "../etc/shadow", typ: tar.TypeLink}), data))
	write("control-device.deb", deb(bin, ctl(controlEntry, entry{name: "./null", typ: tar.TypeChar}), data))
	write("control-missing.deb", deb(bin, ctl(entry{name: "./md5sums", body: "\n"}), data))
	write("control-duplicate-entry.deb", deb(bin, ctl(controlEntry, entry{name: "control", body: controlText}), data))
	write("control-not-regular.deb", deb(bin, ctl(entry{name: "./control/", typ: tar.TypeDir}), data))
	withControl := func(text string) member { return ctl(entry{name: "./control", body: text}) }
	write("control-no-arch.deb", deb(bin, withControl(strings.Replace(controlText, "Architecture: amd64\n", "", 1)), data))
	write("control-bad-name.deb", deb(bin, withControl(strings.Replace(controlText, "Package: hello", "Package: Hello_World", 1)), data))
	write("control-bad-version.deb", deb(bin, withControl(strings.Replace(controlText, "Version: 1:1.0~rc1-1", "Version: 1.0-", 1)), data))
	write("control-bad-arch.deb", deb(bin, withControl(strings.Replace(controlText, "amd64", "AMD 64", 1)), data))
	write("control-syntax.deb", deb(bin, withControl(controlText+"this line has no colon\n"), data))
	write("control-two-paragraphs.deb", deb(bin, withControl(controlText+"\nPackage: other\n"), data))
	write("control-bad-conffiles.deb", deb(bin, ctl(controlEntry, entry{name: "./conffiles", body: "etc/relative.conf\n"}), data))
	big := controlText + strings.Repeat(" "+strings.Repeat("x", 79)+"\n", 2<<20/80)
	write("control-file-too-large.deb", deb(bin, withControl(big), data))
	write("control-bomb.deb", deb(bin, member{"control.tar.zst", bomb()}, data))
	write("control-corrupt-gzip.deb", deb(bin, member{"control.tar.gz", corrupt(ctrl.data)}, data))
}

type member struct {
	name string
	data []byte
}

// members splits an ar archive written by dpkg-deb.
func members(b []byte) []member {
	var ms []member
	b = b[8:]
	for len(b) > 0 {
		var size int
		_, err := fmt.Sscan(string(b[48:58]), &size)
		check(err)
		name := strings.TrimRight(string(b[:16]), " /")
		ms = append(ms, member{name, b[60 : 60+size]})
		b = b[60+size+size%2:]
	}
	return ms
}

func deb(ms ...member) []byte {
	return ar(false, ms)
}

// debGNU writes names as GNU ar does, ending in '/'.
func debGNU(ms ...member) []byte {
	return ar(true, ms)
}

func ar(gnu bool, ms []member) []byte {
	b := []byte("!<arch>\n")
	for _, m := range ms {
		name := m.name
		if gnu {
			name += "/"
		}
		b = fmt.Appendf(b, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", name, epoch, 0, 0, 0o100644, len(m.data))
		b = append(b, m.data...)
		if len(m.data)%2 == 1 {
			b = append(b, '\n')
		}
	}
	return b
}

type entry struct {
	name, body, link string
	typ              byte
}

func tarball(entries ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: 0o644, ModTime: time.Unix(epoch, 0), Format: tar.FormatGNU}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		check(tw.WriteHeader(h))
		_, err := io.WriteString(tw, e.body)
		check(err)
	}
	check(tw.Close())
	return buf.Bytes()
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	check(err)
	w.ModTime = time.Unix(epoch, 0)
	_, err = w.Write(b)
	check(err)
	check(w.Close())
	return buf.Bytes()
}

// bomb is a control.tar.zst of a few kilobytes that unpacks to 80 MiB.
func bomb() []byte {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	check(err)
	tw := tar.NewWriter(zw)
	check(tw.WriteHeader(&tar.Header{Name: "./control", Size: int64(len(controlText)), Mode: 0o644, ModTime: time.Unix(epoch, 0)}))
	_, err = io.WriteString(tw, controlText)
	check(err)
	const size = 80 << 20
	check(tw.WriteHeader(&tar.Header{Name: "./bomb", Size: size, Mode: 0o644, ModTime: time.Unix(epoch, 0)}))
	zeros := make([]byte, 1<<20)
	for range size / len(zeros) {
		_, err := tw.Write(zeros)
		check(err)
	}
	check(tw.Close())
	check(zw.Close())
	return buf.Bytes()
}

// hugeDict rewrites the first block header of an xz file to ask for a
// 4 GiB dictionary. The file stays valid: a decoder may use any
// dictionary at least as large as the data.
func hugeDict(xz []byte) []byte {
	xz = bytes.Clone(xz)
	h := xz[12:]
	size := (int(h[0]) + 1) * 4
	flags := h[1]
	i := 2
	skipVarint := func() {
		for h[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if flags&0x40 != 0 {
		skipVarint()
	}
	if flags&0x80 != 0 {
		skipVarint()
	}
	if h[i] != 0x21 || h[i+1] != 1 {
		log.Fatal("hugeDict: first filter is not LZMA2")
	}
	h[i+2] = 40
	binary.LittleEndian.PutUint32(h[size-4:], crc32.ChecksumIEEE(h[:size-4]))
	return xz
}

// corrupt flips a byte in the middle of a gzip stream's data.
func corrupt(gz []byte) []byte {
	gz = bytes.Clone(gz)
	gz[len(gz)/2] ^= 0x55
	return gz
}

func bzip2(b []byte) []byte {
	cmd := exec.Command("bzip2", "-9", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	check(err)
	return out
}

func write(name string, b []byte) {
	check(os.WriteFile(filepath.Join(*dir, name), b, 0o644))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
