package rpm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"github.com/packhouse/packhouse/internal/testtool"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/packhouse/packhouse/internal/spec"
)

var buildTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func needRPM(t *testing.T) {
	t.Helper()
	testtool.Need(t, "rpm")
}

// run runs a command and returns its standard output; failure fails the
// test with the command's standard error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func writeSource(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	helloBin  = "#!/bin/sh\necho hello\n"
	helloConf = "greeting = hello\n"
	otherConf = "verbose = false\n"
)

// samplePackage has one of each kind of content, scripts and every kind of
// dependency.
func samplePackage(t testing.TB) *spec.Package {
	dir := t.TempDir()
	mtime := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	return &spec.Package{
		Name:        "hello",
		Version:     "1.2.3",
		Release:     "4",
		Arch:        "amd64",
		Platform:    "linux",
		Maintainer:  "Packhouse Test <test@example.com>",
		Summary:     "Says hello",
		Description: "A package that says hello.\nOn two lines.",
		Vendor:      "ACME",
		Homepage:    "https://example.com/hello",
		License:     "MIT",
		Section:     "Applications/System",
		Depends:     []string{"bash (>= 4.0)", "coreutils", "glibc >= 2.17", "foo | bar (>> 2)"},
		Recommends:  []string{"cowsay"},
		Suggests:    []string{"fortune (= 1.0)"},
		Conflicts:   []string{"goodbye (<< 2.0)"},
		Breaks:      []string{"oldbreak"},
		Replaces:    []string{"oldhello (<= 1.0)"},
		Provides:    []string{"greeter", "hello-api = 2"},
		Contents: []spec.Content{
			{Type: spec.TypeConfigNoReplace, Source: writeSource(t, dir, "hello.conf", helloConf), Destination: "/etc/hello/hello.conf", Mode: 0o640, Owner: "root", Group: "adm", MTime: mtime},
			{Type: spec.TypeConfig, Source: writeSource(t, dir, "other.conf", otherConf), Destination: "/etc/hello/other.conf", Mode: 0o644, MTime: mtime},
			{Type: spec.TypeFile, Source: writeSource(t, dir, "hello", helloBin), Destination: "/usr/bin/hello", Mode: 0o755, MTime: mtime},
			{Type: spec.TypeSymlink, Target: "hello", Destination: "/usr/bin/hi", MTime: mtime},
			{Type: spec.TypeFile, Source: writeSource(t, dir, "empty", ""), Destination: "/usr/share/hello/empty", Mode: 0o644, MTime: mtime},
			{Type: spec.TypeDir, Destination: "/usr/share/hello", Mode: 0o755, MTime: mtime, Implicit: true},
			{Type: spec.TypeDir, Destination: "/var/lib/hello", Mode: 0o750, Owner: "nobody", Group: "nogroup", MTime: mtime},
			{Type: spec.TypeGhost, Destination: "/var/log/hello.log", Mode: 0o640, MTime: mtime},
		},
		Scripts: spec.Scripts{
			PreInstall:  "echo pre \"$1\" > /preinstall-ran\n",
			PostInstall: "echo post \"$1\" > /var/lib/hello/postinstall-ran\n",
			PreRemove:   "#!/bin/sh -e\necho preun \"$1\" > /preremove-ran\n",
			PostRemove:  "echo postun \"$1\" > /postremove-ran\n",
			PreTrans:    "echo pretrans > /pretrans-ran\n",
			PostTrans:   "echo posttrans > /posttrans-ran\n",
			Verify:      "echo verify > /verify-ran\n",
			// rpm runs the script as "/bin/sh -e file": -e proves the
			// interpreter came from here, not from a #! line.
			Interpreters: map[string]string{"posttrans": "/bin/sh -e"},
		},
		BuildTime: buildTime,
	}
}

func writePackage(t testing.TB, p *spec.Package, opts WriteOptions) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), FileName(p))
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), f, p, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return name
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestRPMReadsPackage(t *testing.T) {
	needRPM(t)
	for _, comp := range []string{"gzip", "xz", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			p := samplePackage(t)
			name := writePackage(t, p, WriteOptions{Compression: comp})
			if got, want := filepath.Base(name), "hello-1.2.3-4.x86_64.rpm"; got != want {
				t.Errorf("FileName = %s, want %s", got, want)
			}

			info := run(t, "rpm", "-qip", name)
			for _, want := range []string{
				`Name\s+: hello`, `Version\s+: 1.2.3`, `Release\s+: 4`, `Architecture: x86_64`,
				`Group\s+: Applications/System`, `License\s+: MIT`, `Source RPM\s+: hello-1.2.3-4.src.rpm`,
				`Build Host\s+: packhouse`, `Packager\s+: Packhouse Test <test@example.com>`, `Vendor\s+: ACME`,
				`URL\s+: https://example.com/hello`, `Summary\s+: Says hello`, `Build Date\s+: .*2024`,
				`Size\s+: ` + itoa(len(helloBin)+len(helloConf)+len(otherConf)+len("hello")),
				"Description :\nA package that says hello.\nOn two lines.",
			} {
				if !regexp.MustCompile(want).MatchString(info) {
					t.Errorf("rpm -qip lacks %q:\n%s", want, info)
				}
			}

			mtime := "1714521600"
			wantDump := strings.Join([]string{
				"/etc/hello/hello.conf " + itoa(len(helloConf)) + " " + mtime + " " + sha256Hex(helloConf) + " 0100640 root adm 1 0 0 X",
				"/etc/hello/other.conf " + itoa(len(otherConf)) + " " + mtime + " " + sha256Hex(otherConf) + " 0100644 root root 1 0 0 X",
				"/usr/bin/hello " + itoa(len(helloBin)) + " " + mtime + " " + sha256Hex(helloBin) + " 0100755 root root 0 0 0 X",
				"/usr/bin/hi 5 " + mtime + " " + strings.Repeat("0", 64) + " 0120777 root root 0 0 0 hello",
				"/usr/share/hello/empty 0 " + mtime + " " + sha256Hex("") + " 0100644 root root 0 0 0 X",
				"/var/lib/hello 0 " + mtime + " " + strings.Repeat("0", 64) + " 040750 nobody nogroup 0 0 0 X",
				"/var/log/hello.log 0 " + mtime + " " + strings.Repeat("0", 64) + " 0100640 root root 0 0 0 X",
			}, "\n") + "\n"
			if got := run(t, "rpm", "-qlp", "--dump", name); got != wantDump {
				t.Errorf("rpm -qlp --dump:\n%s\nwant:\n%s", got, wantDump)
			}
			// rpm --dump shows config, not noreplace; the flags tell them apart.
			if got, want := run(t, "rpm", "-qp", "--qf", "[%{FILEFLAGS:fflags},]", name), "cn,c,,,,,g,"; got != want {
				t.Errorf("file flags %q, want %q", got, want)
			}

			extra := map[string]string{
				"gzip": "", "none": "",
				"xz":   "rpmlib(PayloadIsXz) <= 5.2-1\n",
				"zstd": "rpmlib(PayloadIsZstd) <= 5.4.18-1\n",
			}[comp]
			deps := []struct{ flag, want string }{
				{"--requires", "(foo or bar > 2)\n/bin/sh\n/bin/sh\n/bin/sh\n/bin/sh\n/bin/sh\n/bin/sh\n/bin/sh\nbash >= 4.0\nconfig(hello) = 1.2.3-4\ncoreutils\nglibc >= 2.17\n" +
					"rpmlib(CompressedFileNames) <= 3.0.4-1\nrpmlib(FileDigests) <= 4.6.0-1\nrpmlib(PayloadFilesHavePrefix) <= 4.0-1\n" +
					extra + "rpmlib(RichDependencies) <= 4.12.0-1\nrpmlib(ScriptletInterpreterArgs) <= 4.0.3-1\n"},
				{"--provides", "config(hello) = 1.2.3-4\ngreeter\nhello = 1.2.3-4\nhello(x86-64) = 1.2.3-4\nhello-api = 2\n"},
				{"--conflicts", "goodbye < 2.0\noldbreak\n"},
				{"--obsoletes", "oldhello <= 1.0\n"},
				{"--recommends", "cowsay\n"},
				{"--suggests", "fortune = 1.0\n"},
			}
			for _, d := range deps {
				got := run(t, "rpm", "-qp", d.flag, name)
				if d.flag == "--requires" {
					got = sortLines(got)
					d.want = sortLines(d.want)
				}
				if got != d.want {
					t.Errorf("rpm -qp %s:\n%s\nwant:\n%s", d.flag, got, d.want)
				}
			}

			if got := run(t, "rpm", "-K", name); !strings.HasSuffix(got, ": digests OK\n") {
				t.Errorf("rpm -K: %s", got)
			}
			vv := run(t, "rpm", "-Kv", name)
			for _, want := range []string{"Header SHA256 digest: OK", "Header SHA1 digest: OK", "Payload SHA256 digest: OK"} {
				if !strings.Contains(vv, want) {
					t.Errorf("rpm -Kv lacks %q:\n%s", want, vv)
				}
			}

			pkg := readTestPackage(t, name)
			cpio := exec.Command("rpm2cpio", name)
			out, err := cpio.Output()
			if err != nil {
				t.Fatalf("rpm2cpio: %v", err)
			}
			if got := int64(len(out)); got != pkg.sig.ints(sigPayloadSize)[0] {
				t.Errorf("rpm2cpio gave %d bytes, PAYLOADSIZE says %d", got, pkg.sig.ints(sigPayloadSize)[0])
			}
			sum := sha256.Sum256(out)
			if got := pkg.hdr.str(tagPayloadDigestAlt); got != hex.EncodeToString(sum[:]) {
				t.Errorf("PAYLOADDIGESTALT %s, archive hashes to %x", got, sum)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// newKey makes a v4 signing key created well before buildTime.
func newKey(t *testing.T, algo packet.PublicKeyAlgorithm) *openpgp.Entity {
	t.Helper()
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := openpgp.NewEntity("Packhouse Test", "", "test@example.com", &packet.Config{
		Algorithm: algo,
		RSABits:   2048,
		Time:      func() time.Time { return created },
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func exportKey(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "key.asc")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := armor.Encode(f, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f.Close()
	return name
}

func TestRPMVerifiesSignature(t *testing.T) {
	needRPM(t)
	for _, tc := range []struct {
		name string
		algo packet.PublicKeyAlgorithm
		tag  int32
		desc string
	}{
		{"rsa", packet.PubKeyAlgoRSA, sigRSA, "Header V4 RSA/SHA256 Signature"},
		{"eddsa", packet.PubKeyAlgoEdDSA, sigDSA, "Header V4 EdDSA/SHA256 Signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := newKey(t, tc.algo)
			name := writePackage(t, samplePackage(t), WriteOptions{Signer: key})
			db := t.TempDir()

			// Without the key, rpm knows the signature but cannot check it.
			cmd := exec.Command("rpm", "--dbpath", db, "-K", name)
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), "digests SIGNATURES NOT OK") {
				t.Errorf("rpm -K without the key: %s", out)
			}

			run(t, "rpm", "--dbpath", db, "--import", exportKey(t, key))
			if got := run(t, "rpm", "--dbpath", db, "-K", name); !strings.HasSuffix(got, ": digests signatures OK\n") {
				t.Errorf("rpm -K: %s", got)
			}
			vv := run(t, "rpm", "--dbpath", db, "-Kv", name)
			if !strings.Contains(vv, tc.desc) || !strings.Contains(vv, "OK") {
				t.Errorf("rpm -Kv:\n%s", vv)
			}
			if pkg := readTestPackage(t, name); pkg.sig.raw[tc.tag].count == 0 {
				t.Errorf("signature not in tag %d: %s", tc.tag, pkg.sig)
			}

			// A flipped byte in the header must break the signature.
			b, _ := os.ReadFile(name)
			pkg := readTestPackage(t, name)
			off := 96 + len(pkg.sig.blob) + (8-len(pkg.sig.blob)%8)%8 + len(pkg.hdr.blob) - 20
			b[off] ^= 1
			bad := filepath.Join(t.TempDir(), "bad.rpm")
			os.WriteFile(bad, b, 0o644)
			if out, err := exec.Command("rpm", "--dbpath", db, "-K", bad).CombinedOutput(); err == nil {
				t.Errorf("rpm -K accepted a modified header: %s", out)
			}
		})
	}
}

// newRoot makes a throwaway root in which rpm can run /bin/sh scriptlets:
// it holds the host's shell and the libraries it links.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{sh}
	for _, m := range regexp.MustCompile(`(/\S+\.so[.\d]*)`).FindAllString(run(t, "ldd", sh), -1) {
		files = append(files, m)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, f)
		if f == sh {
			dst = filepath.Join(root, "bin/sh")
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRPMInstallsPackage(t *testing.T) {
	needRPM(t)
	testtool.NeedRoot(t) // installing into a root
	for _, comp := range []string{"gzip", "xz", "zstd", "none"} {
		t.Run(comp, func(t *testing.T) {
			name := writePackage(t, samplePackage(t), WriteOptions{Compression: comp})
			root := newRoot(t)
			rpmArgs := []string{"--root", root, "--dbpath", "/var/lib/rpm", "--noplugins"}
			run(t, "rpm", append(rpmArgs, "-i", "--nodeps", name)...)

			checkFile := func(p, content string, mode fs.FileMode) {
				t.Helper()
				st, err := os.Lstat(filepath.Join(root, p))
				if err != nil {
					t.Error(err)
					return
				}
				if st.Mode() != mode {
					t.Errorf("%s: mode %v, want %v", p, st.Mode(), mode)
				}
				if content != "" {
					b, _ := os.ReadFile(filepath.Join(root, p))
					if string(b) != content {
						t.Errorf("%s: %q, want %q", p, b, content)
					}
				}
			}
			checkFile("/usr/bin/hello", helloBin, 0o755)
			checkFile("/etc/hello/hello.conf", helloConf, 0o640)
			checkFile("/etc/hello/other.conf", otherConf, 0o644)
			checkFile("/usr/share/hello/empty", "", 0o644)
			checkFile("/var/lib/hello", "", fs.ModeDir|0o750)
			checkFile("/usr/bin/hi", "", fs.ModeSymlink|0o777)
			if target, _ := os.Readlink(filepath.Join(root, "/usr/bin/hi")); target != "hello" {
				t.Errorf("symlink target %q", target)
			}
			checkFile("/preinstall-ran", "pre 1\n", 0o644)
			checkFile("/var/lib/hello/postinstall-ran", "post 1\n", 0o644)
			checkFile("/pretrans-ran", "pretrans\n", 0o644)
			checkFile("/posttrans-ran", "posttrans\n", 0o644)
			if _, err := os.Lstat(filepath.Join(root, "/var/log/hello.log")); err == nil {
				t.Error("rpm created the ghost file")
			}

			if out := run(t, "rpm", append(rpmArgs, "-V", "--nodeps", "hello")...); out != "" {
				t.Errorf("rpm -V: %s", out)
			}
			checkFile("/verify-ran", "verify\n", 0o644)
			run(t, "rpm", append(rpmArgs, "-e", "--nodeps", "hello")...)
			checkFile("/preremove-ran", "preun 0\n", 0o644)
			checkFile("/postremove-ran", "postun 0\n", 0o644)
			if _, err := os.Stat(filepath.Join(root, "/usr/bin/hello")); err == nil {
				t.Error("/usr/bin/hello still there after rpm -e")
			}
		})
	}
}

func TestEmptyPackage(t *testing.T) {
	needRPM(t)
	p := &spec.Package{Name: "meta", Version: "1.0", Arch: "all", Summary: "Pulls in others",
		Depends: []string{"hello"}, BuildTime: buildTime}
	name := writePackage(t, p, WriteOptions{})
	if filepath.Base(name) != "meta-1.0-1.noarch.rpm" {
		t.Errorf("file name %s", filepath.Base(name))
	}
	if got := run(t, "rpm", "-qlp", name); got != "(contains no files)\n" {
		t.Errorf("rpm -qlp: %q", got)
	}
	if got := run(t, "rpm", "-K", name); !strings.HasSuffix(got, "digests OK\n") {
		t.Errorf("rpm -K: %s", got)
	}
	if os.Getuid() == 0 {
		root := t.TempDir()
		run(t, "rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--noplugins", "-i", "--nodeps", name)
		if got := run(t, "rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-q", "meta"); got != "meta-1.0-1.noarch\n" {
			t.Errorf("rpm -q: %q", got)
		}
	}
}

func TestReproducible(t *testing.T) {
	key := newKey(t, packet.PubKeyAlgoRSA)
	for _, comp := range []string{"gzip", "xz", "zstd", "none"} {
		p := samplePackage(t)
		opts := WriteOptions{Compression: comp, Signer: key}
		a, _ := os.ReadFile(writePackage(t, p, opts))
		opts.TempDir = t.TempDir()
		b, _ := os.ReadFile(writePackage(t, p, opts))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two builds differ", comp)
		}
		p.BuildTime = p.BuildTime.Add(time.Second)
		c, _ := os.ReadFile(writePackage(t, p, opts))
		if bytes.Equal(a, c) {
			t.Errorf("%s: a different build time gave the same bytes", comp)
		}
	}
}

// TestWriteInPlace: a package written into a file, where the payload is
// written in place behind the headers, has the same bytes as one written
// to a stream through a temporary file, also when the file does not start
// with it; and the signature header keeps its reserved space.
func TestWriteInPlace(t *testing.T) {
	for _, algo := range []packet.PublicKeyAlgorithm{packet.PubKeyAlgoRSA, packet.PubKeyAlgoEdDSA} {
		key := newKey(t, algo)
		p := samplePackage(t)
		var stream bytes.Buffer
		if err := Write(context.Background(), &stream, p, WriteOptions{Signer: key, TempDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "p.rpm"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString("prefix")
		if err := Write(context.Background(), f, p, WriteOptions{Signer: key}); err != nil {
			t.Fatal(err)
		}
		f.WriteString("suffix") // Write leaves the offset at the package's end
		got, _ := os.ReadFile(f.Name())
		if want := "prefix" + stream.String() + "suffix"; string(got) != want {
			t.Fatalf("%v: in place %d bytes, streamed %d, differ", algo, len(got)-12, stream.Len())
		}
		// A file opened for appending takes the streaming path.
		af, err := os.OpenFile(filepath.Join(t.TempDir(), "a.rpm"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		af.WriteString("prefix")
		if err := Write(context.Background(), af, p, WriteOptions{Signer: key, TempDir: t.TempDir()}); err != nil {
			t.Fatalf("%v: appending: %v", algo, err)
		}
		af.Close()
		if got, _ := os.ReadFile(af.Name()); string(got) != "prefix"+stream.String() {
			t.Errorf("%v: appended package differs", algo)
		}
		pk, err := Read(bytes.NewReader(stream.Bytes()), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if pk.Meta.HeaderStart != int64(leadSize+len(mustSigHeader(t, stream.Bytes()))) {
			t.Errorf("%v: header starts at %d", algo, pk.Meta.HeaderStart)
		}
	}
}

// mustSigHeader returns the signature header of package b, padding
// included, and checks that its reserved space is at least what is left
// of rpmbuild's 4 KiB once signed.
func mustSigHeader(t *testing.T, b []byte) []byte {
	t.Helper()
	sig := b[leadSize:]
	n := binary.BigEndian.Uint32(sig[8:])
	size := 16 + 16*int(n) + int(binary.BigEndian.Uint32(sig[12:]))
	var reserved int
	for i := 0; i < int(n); i++ {
		e := sig[16+16*i:]
		if binary.BigEndian.Uint32(e) == sigReservedSpace {
			reserved = int(binary.BigEndian.Uint32(e[12:]))
		}
	}
	if reserved < sigReserve-1024 {
		t.Errorf("reserved space of %d bytes", reserved)
	}
	return sig[:size+pad8(size)]
}

// TestHeaderMatchesRPM checks that what rpm reads from the header is what
// we meant to write, field by field.
func TestHeaderMatchesRPM(t *testing.T) {
	needRPM(t)
	p := samplePackage(t)
	p.Epoch = "2"
	p.Prerelease = "rc1"
	p.VersionMetadata = "git5"
	p.Packager = "Builder <builder@example.com>"
	p.BuildHost = "ci.example.com"
	p.Prefixes = []string{"/etc", "/usr", "/var"}
	name := writePackage(t, p, WriteOptions{Compression: "zstd", Level: 19})
	pkg := readTestPackage(t, name)
	h := pkg.hdr

	fields := []struct {
		qf   string
		want string
	}{
		{"%{NAME}", h.str(tagName)},
		{"%{EPOCH}", "2"},
		{"%{VERSION}", "1.2.3~rc1+git5"},
		{"%{RELEASE}", "4"},
		{"%{ARCH}", "x86_64"},
		{"%{OS}", "linux"},
		{"%{BUILDTIME}", "1717243200"},
		{"%{SIZE}", itoa(int(h.ints(tagSize)[0]))},
		{"%{PAYLOADCOMPRESSOR}", "zstd"},
		{"%{PAYLOADFLAGS}", "19"},
		{"%{PAYLOADFORMAT}", "cpio"},
		{"%{PAYLOADDIGESTALGO}", "8"},
		{"%{FILEDIGESTALGO}", "8"},
		{"%{PAYLOADDIGEST}", h.str(tagPayloadDigest)},
		{"%{SHA256HEADER}", pkg.sig.str(sigSHA256)},
		{"%{SIGSIZE}", itoa(int(pkg.sig.ints(sigSize)[0]))},
		{"%{ENCODING}", "utf-8"},
		{"%{SOURCERPM}", "hello-1.2.3~rc1+git5-4.src.rpm"},
		{"%{PACKAGER}", "Builder <builder@example.com>"},
		{"%{BUILDHOST}", "ci.example.com"},
		{"[%{PREFIXES} ]", "/etc /usr /var "},
		{"[%{POSTTRANSPROG} ]|%{PRETRANSPROG}|%{VERIFYSCRIPTPROG}", "/bin/sh -e |/bin/sh|/bin/sh"},
		{"%{PRETRANS}", p.Scripts.PreTrans},
		{"[%{FILEINODES} ]", "1 2 3 4 5 6 7 "},
		{"[%{FILEMODES:octal} ]", "100640 100644 100755 120777 100644 40750 100640 "},
		{"[%{DIRNAMES} ]", "/etc/hello/ /usr/bin/ /usr/share/hello/ /var/lib/ /var/log/ "},
		{"%{PREINPROG}|[%{PREUNPROG} ]", "/bin/sh|/bin/sh -e "},
		{"%{NEVRA}", "hello-2:1.2.3~rc1+git5-4.x86_64"},
		{"%{POSTIN}", p.Scripts.PostInstall},
	}
	for _, f := range fields {
		if got := run(t, "rpm", "-qp", "--qf", f.qf, name); got != f.want {
			t.Errorf("%s = %q, want %q", f.qf, got, f.want)
		}
	}
	req := run(t, "rpm", "-qp", "--requires", name)
	for _, want := range []string{"rpmlib(TildeInVersions) <= 4.10.0-1", "rpmlib(ScriptletInterpreterArgs) <= 4.0.3-1", "rpmlib(PayloadIsZstd) <= 5.4.18-1"} {
		if !strings.Contains(req, want) {
			t.Errorf("requires lacks %s:\n%s", want, req)
		}
	}
	if !strings.Contains(run(t, "rpm", "-qp", "--provides", name), "hello = 2:1.2.3~rc1+git5-4") {
		t.Error("provides lacks the epoch")
	}
}

func TestWriteRejects(t *testing.T) {
	base := func() *spec.Package {
		return &spec.Package{Name: "x", Version: "1", Arch: "amd64", BuildTime: buildTime}
	}
	for name, mod := range map[string]func(*spec.Package){
		"dash in version": func(p *spec.Package) { p.Version = "1-2" },
		"space in name":   func(p *spec.Package) { p.Name = "a b" },
		"bad epoch":       func(p *spec.Package) { p.Epoch = "one" },
		"bad dependency":  func(p *spec.Package) { p.Depends = []string{"foo >="} },
		"relative path":   func(p *spec.Package) { p.Contents = []spec.Content{{Type: spec.TypeDir, Destination: "usr"}} },
		"dotdot path":     func(p *spec.Package) { p.Contents = []spec.Content{{Type: spec.TypeDir, Destination: "/usr/../etc"}} },
		"duplicate path": func(p *spec.Package) {
			p.Contents = []spec.Content{{Type: spec.TypeDir, Destination: "/a"}, {Type: spec.TypeDir, Destination: "/a"}}
		},
		"symlink no target": func(p *spec.Package) { p.Contents = []spec.Content{{Type: spec.TypeSymlink, Destination: "/a"}} },
		"bad compression":   func(p *spec.Package) { p.Compression = "lz4" },
		"bad level":         func(p *spec.Package) { p.Compression, p.CompressionLevel = "gzip", 12 },
	} {
		p := base()
		mod(p)
		var buf bytes.Buffer
		if err := Write(context.Background(), &buf, p, WriteOptions{TempDir: t.TempDir()}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWriteCancelled(t *testing.T) {
	p := samplePackage(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if err := Write(ctx, &buf, p, WriteOptions{}); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestWriteDetectsChangedSource(t *testing.T) {
	p := samplePackage(t)
	src := p.Contents[2].Source
	// Grow the file between the size check and the copy.
	p.Contents[2].Size = 1
	f, _ := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
	defer f.Close()
	ctx := context.Background()
	pkg, err := resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("more")
	comp, _ := resolveCompression("none", 0)
	var buf bytes.Buffer
	if _, err := writePayload(ctx, &buf, pkg.files, comp); err == nil {
		t.Error("no error for a file that changed size")
	}
}

// TestLargeFile packs a file over 4 GiB, which needs rpm's 64-bit size tags
// and its stripped cpio entries. It writes and installs 4 GiB, so it runs
// only when PACKHOUSE_RPM_LARGE is set.
func TestLargeFile(t *testing.T) {
	needRPM(t)
	if os.Getenv("PACKHOUSE_RPM_LARGE") == "" {
		t.Skip("set PACKHOUSE_RPM_LARGE=1 to write a 4 GiB package")
	}
	dir := t.TempDir()
	const size = 4<<30 + 12345
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("start")
	f.Truncate(size)
	f.Close()
	p := &spec.Package{Name: "large", Version: "1", Arch: "amd64", BuildTime: buildTime,
		Contents: []spec.Content{
			{Type: spec.TypeFile, Source: big, Destination: "/opt/large/big", Mode: 0o644},
			{Type: spec.TypeFile, Source: writeSource(t, dir, "small", "small\n"), Destination: "/opt/large/small", Mode: 0o644},
		}}
	name := writePackage(t, p, WriteOptions{Compression: "zstd", Level: 1})

	pkg := readTestPackage(t, name)
	if pkg.sig.raw[sigLongSize].count != 1 || pkg.sig.raw[sigLongArchiveSize].count != 1 || pkg.sig.raw[sigSize].count != 0 {
		t.Errorf("signature header sizes: %s", pkg.sig)
	}
	if got := pkg.hdr.ints(tagLongFileSizes); !reflect.DeepEqual(got, []int64{size, 6}) {
		t.Errorf("LONGFILESIZES = %v", got)
	}
	if !strings.Contains(run(t, "rpm", "-qp", "--requires", name), "rpmlib(LargeFiles) <= 4.12.0-1") {
		t.Error("no rpmlib(LargeFiles)")
	}
	dump := run(t, "rpm", "-qlp", "--dump", name)
	if !strings.HasPrefix(dump, "/opt/large/big 4294979641 ") {
		t.Errorf("rpm -qlp --dump: %s", dump)
	}
	if got := run(t, "rpm", "-K", name); !strings.HasSuffix(got, "digests OK\n") {
		t.Errorf("rpm -K: %s", got)
	}
	if os.Getuid() == 0 {
		root := t.TempDir()
		run(t, "rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--noplugins", "-i", "--nodeps", name)
		st, err := os.Stat(filepath.Join(root, "/opt/large/big"))
		if err != nil || st.Size() != size {
			t.Errorf("installed big file: %v %v", st, err)
		}
		if b, _ := os.ReadFile(filepath.Join(root, "/opt/large/small")); string(b) != "small\n" {
			t.Errorf("installed small file: %q", b)
		}
	}
}

// TestDNFInstallsSignedPackage is the path a customer's machine takes:
// createrepo_c indexes the package, dnf installs it with gpgcheck on,
// which checks our signature against the repository's key.
func TestDNFInstallsSignedPackage(t *testing.T) {
	needRPM(t)
	testtool.Need(t, "dnf", "createrepo_c")
	testtool.NeedRoot(t) // dnf --installroot
	p := samplePackage(t)
	p.Depends, p.Scripts = nil, spec.Scripts{} // an empty root has no /bin/sh
	key := newKey(t, packet.PubKeyAlgoRSA)
	repo := t.TempDir()
	name := writePackage(t, p, WriteOptions{Compression: "zstd", Signer: key})
	b, _ := os.ReadFile(name)
	os.WriteFile(filepath.Join(repo, filepath.Base(name)), b, 0o644)
	run(t, "createrepo_c", "-q", repo)

	dnf := func(keyFile string) (string, error) {
		root := t.TempDir()
		out, err := exec.Command("dnf", "-y", "-q", "--installroot", root, "--releasever", "1",
			"--setopt=reposdir=/dev/null", "--setopt=cachedir="+t.TempDir(),
			"--repofrompath=local,file://"+repo, "--repo=local",
			"--setopt=local.gpgcheck=1", "--setopt=local.gpgkey=file://"+keyFile,
			"install", "hello").CombinedOutput()
		if err == nil {
			if b, _ := os.ReadFile(filepath.Join(root, "/usr/bin/hello")); string(b) != helloBin {
				t.Errorf("installed /usr/bin/hello: %q", b)
			}
		}
		return string(out), err
	}
	if out, err := dnf(exportKey(t, key)); err != nil {
		t.Errorf("dnf install with the signing key: %v\n%s", err, out)
	}
	if out, err := dnf(exportKey(t, newKey(t, packet.PubKeyAlgoRSA))); err == nil || !strings.Contains(out, "GPG") {
		t.Errorf("dnf with another key: want a GPG failure, got %v:\n%s", err, out)
	}
}
