package sign_test

// These tests check the output against the programs that clients really
// run: gpgv (what apt, and through gpgme dnf and pacman, verify with), apt
// itself and rpm's own OpenPGP parser. They skip when a program is missing.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/sign"
)

func lookPath(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s is not installed", name)
		}
	}
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// gnupg runs gpg and gpgv in a home directory of their own, so that the
// machine's keyrings neither help nor hinder.
type gnupg struct {
	home string
}

func newGnuPG(t *testing.T) *gnupg {
	t.Helper()
	lookPath(t, "gpgv", "gpg")
	g := &gnupg{home: filepath.Join(t.TempDir(), "gnupg")}
	if err := os.Mkdir(g.home, 0o700); err != nil {
		t.Fatal(err)
	}
	// --no-autostart keeps gpg from starting an agent; this makes sure
	// none outlives the test if some version starts one anyway.
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--homedir", g.home, "--kill", "all").Run() })
	return g
}

func (g *gnupg) command(name string, args ...string) *exec.Cmd {
	args = append([]string{"--homedir", g.home}, args...)
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.home, "LC_ALL=C")
	return cmd
}

func (g *gnupg) gpg(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := g.command("gpg", append([]string{"--batch", "--no-tty", "--no-autostart"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// gpgv runs gpgv and returns its status lines and whether it accepted the
// signature.
func (g *gnupg) gpgv(keyring string, files ...string) (string, bool) {
	args := append([]string{"--keyring", keyring, "--status-fd", "1"}, files...)
	cmd := g.command("gpgv", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

// assertValid checks that gpgv accepted a SHA-512 signature by k.
func assertValid(t *testing.T, what string, k *sign.Key, status string, ok bool) {
	t.Helper()
	if !ok {
		t.Errorf("gpgv rejects %s:\n%s", what, status)
		return
	}
	for _, line := range strings.Split(status, "\n") {
		f := strings.Fields(line)
		if len(f) < 12 || f[0] != "[GNUPG:]" || f[1] != "VALIDSIG" {
			continue
		}
		// VALIDSIG fpr date time expire version reserved pubkey-algo hash-algo class primary-fpr
		if f[11] != k.Fingerprint() || f[9] != "10" {
			t.Errorf("%s: signed by %s with hash %s; want %s and 10 (SHA-512):\n%s", what, f[11], f[9], k.Fingerprint(), status)
		}
		return
	}
	t.Errorf("%s: gpgv reports no VALIDSIG:\n%s", what, status)
}

func TestGnuPG(t *testing.T) {
	lookPath(t, "gpgv", "gpg")
	for _, a := range algorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := testKey(t, a)
			g := newGnuPG(t)
			dir := t.TempDir()
			pub, err := k.ArmoredPublic()
			if err != nil {
				t.Fatal(err)
			}
			pubFile := writeFile(t, filepath.Join(dir, "key.asc"), pub)

			// The two ways a client gets the key: imported into a
			// keyring, and apt's Signed-By file made by gpg --dearmor.
			g.gpg(t, nil, "--quiet", "--import", pubFile)
			imported := filepath.Join(g.home, "pubring.kbx")
			binary := writeFile(t, filepath.Join(dir, "key.gpg"), g.gpg(t, pub, "--dearmor"))
			if b, _ := os.ReadFile(binary); len(b) == 0 || (b[0] != 0x98 && b[0] != 0x99 && b[0] != 0xc6) {
				t.Errorf("dearmored key starts with %#x; apt's Signed-By takes only a public key packet first", b[:min(len(b), 1)])
			}

			packets := string(g.gpg(t, nil, "--list-packets", pubFile))
			if strings.Contains(packets, "critical") {
				t.Errorf("key has critical subpackets, which old rpm and yum reject:\n%s", packets)
			}
			if strings.Contains(packets, "public sub key packet") {
				t.Errorf("key has a subkey:\n%s", packets)
			}
			if !strings.Contains(packets, "digest algo 10") {
				t.Errorf("self-signature is not SHA-512:\n%s", packets)
			}

			now := time.Now()
			for i, m := range messages {
				msg := []byte(m.text)
				base := filepath.Join(dir, fmt.Sprintf("msg%d", i))
				release := writeFile(t, base+".Release", msg)
				inRelease, err := k.ClearSign(msg, now)
				if err != nil {
					t.Fatal(err)
				}
				inFile := writeFile(t, base+".InRelease", inRelease)
				armored, err := k.DetachSign(msg, now)
				if err != nil {
					t.Fatal(err)
				}
				gpgFile := writeFile(t, base+".Release.gpg", armored)
				raw, err := k.DetachSignBinary(msg, now)
				if err != nil {
					t.Fatal(err)
				}
				sigFile := writeFile(t, base+".Release.sig", raw)

				for _, ring := range []string{imported, binary} {
					name := fmt.Sprintf("%s with %s", m.name, filepath.Base(ring))
					status, ok := g.gpgv(ring, inFile)
					assertValid(t, "InRelease of "+name, k, status, ok)
					status, ok = g.gpgv(ring, gpgFile, release)
					assertValid(t, "Release.gpg of "+name, k, status, ok)
					status, ok = g.gpgv(ring, sigFile, release)
					assertValid(t, "binary signature of "+name, k, status, ok)
				}

				// What apt 2.x runs: gpgv on the halves it split off.
				content, signature, err := aptSplit(inRelease)
				if err != nil {
					t.Fatalf("%s: apt cannot split InRelease: %v", m.name, err)
				}
				if !bytes.Equal(content, msg) {
					t.Errorf("%s: apt reads %q, want %q", m.name, content, msg)
				}
				status, ok := g.gpgv(binary, writeFile(t, base+".apt.sig", signature), writeFile(t, base+".apt.data", content))
				assertValid(t, "apt's split of "+m.name, k, status, ok)
			}

			inRelease, err := k.ClearSign([]byte("Suite: stable\n"), now)
			if err != nil {
				t.Fatal(err)
			}
			tampered := bytes.Replace(inRelease, []byte("Suite: stable"), []byte("Suite: stablE"), 1)
			if status, ok := g.gpgv(binary, writeFile(t, filepath.Join(dir, "tampered"), tampered)); ok {
				t.Errorf("gpgv accepts a changed InRelease:\n%s", status)
			}
		})
	}
}

// TestAptGetUpdate has apt itself fetch and verify a repository signed by
// each kind of key, with the key given as Signed-By, both dearmored and
// armored.
func TestAptGetUpdate(t *testing.T) {
	lookPath(t, "apt-get", "gpgv", "gpg")
	if testing.Short() {
		t.Skip("runs apt-get")
	}
	for _, a := range algorithms {
		for _, armored := range []bool{false, true} {
			name := fmt.Sprintf("%s/armored=%v", a, armored)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				k := testKey(t, a)
				dir := t.TempDir()
				repo := filepath.Join(dir, "repo")
				if err := os.Mkdir(repo, 0o755); err != nil {
					t.Fatal(err)
				}
				pub, _ := k.ArmoredPublic()
				keyFile := writeFile(t, filepath.Join(dir, "key.asc"), pub)
				if !armored {
					g := newGnuPG(t)
					keyFile = writeFile(t, filepath.Join(dir, "key.gpg"), g.gpg(t, pub, "--dearmor"))
				}

				packages := []byte("")
				writeFile(t, filepath.Join(repo, "Packages"), packages)
				now := time.Now().UTC()
				rel := fmt.Sprintf("Origin: packhouse\nLabel: test\nSuite: test\nCodename: test\n"+
					"Date: %s\nValid-Until: %s\nSHA256:\n %x %d Packages\n",
					now.Format(time.RFC1123Z), now.Add(24*time.Hour).Format(time.RFC1123Z),
					sha256.Sum256(packages), len(packages))
				inRelease, err := k.ClearSign([]byte(rel), now)
				if err != nil {
					t.Fatal(err)
				}
				inFile := writeFile(t, filepath.Join(repo, "InRelease"), inRelease)

				out, err := aptGetUpdate(t, dir, repo, keyFile)
				if err != nil || strings.Contains(out, "W:") || strings.Contains(out, "E:") {
					t.Fatalf("apt-get update: %v\n%s", err, out)
				}
				lists, _ := filepath.Glob(filepath.Join(dir, "state", "lists", "*InRelease"))
				if len(lists) != 1 {
					t.Fatalf("apt kept %d InRelease files:\n%s", len(lists), out)
				}
				if got, _ := os.ReadFile(lists[0]); !bytes.Equal(got, inRelease) {
					t.Error("apt stored another InRelease than the one served")
				}

				writeFile(t, inFile, bytes.Replace(inRelease, []byte("Label: test"), []byte("Label: tesT"), 1))
				if out, err := aptGetUpdate(t, dir, repo, keyFile); err == nil || !strings.Contains(out, "BADSIG") {
					t.Errorf("apt-get update does not reject a changed InRelease as BADSIG (%v):\n%s", err, out)
				}
			})
		}
	}
}

// aptGetUpdate runs apt-get update for one flat repository, with its
// configuration and every directory it writes to below dir: APT_CONFIG is
// read before anything in /etc/apt, so the machine's settings stay out.
func aptGetUpdate(t *testing.T, dir, repo, key string) (string, error) {
	t.Helper()
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{filepath.Join(etc, "apt.conf.d"), filepath.Join(etc, "sources.list.d"), filepath.Join(etc, "trusted.gpg.d"),
		filepath.Join(dir, "state", "lists", "partial"), filepath.Join(dir, "cache", "archives", "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(etc, "sources.list"), []byte(fmt.Sprintf("deb [signed-by=%s] file:%s ./\n", key, repo)))
	status := writeFile(t, filepath.Join(dir, "status"), nil)
	conf := []string{
		"Dir::Etc " + strconv.Quote(etc),
		"Dir::Etc::Parts \"apt.conf.d\"",
		"Dir::Etc::SourceParts \"sources.list.d\"",
		"Dir::Etc::TrustedParts \"trusted.gpg.d\"",
		"Dir::State " + strconv.Quote(filepath.Join(dir, "state")),
		"Dir::State::status " + strconv.Quote(status),
		"Dir::Cache " + strconv.Quote(filepath.Join(dir, "cache")),
		"Debug::NoLocking \"true\"",
		"APT::Update::Error-Mode \"any\"",
		"Acquire::Languages \"none\"",
	}
	if os.Geteuid() == 0 {
		// The _apt user cannot read the test's private temporary directory.
		conf = append(conf, "APT::Sandbox::User \"root\"")
	}
	aptConf := writeFile(t, filepath.Join(dir, "apt.conf"), []byte(strings.Join(conf, ";\n")+";\n"))
	cmd := exec.Command("apt-get", "update", "-q")
	cmd.Env = append(os.Environ(), "LC_ALL=C", "APT_CONFIG="+aptConf)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRPMImport has rpm's own OpenPGP parser, the one that rpm --import
// and dnf use on older systems, read the public key.
func TestRPMImport(t *testing.T) {
	lookPath(t, "rpmkeys", "rpm")
	for _, a := range algorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := testKey(t, a)
			dir := t.TempDir()
			pub, _ := k.ArmoredPublic()
			keyFile := writeFile(t, filepath.Join(dir, "RPM-GPG-KEY-packhouse"), pub)
			db := filepath.Join(dir, "rpmdb")
			if out, err := exec.Command("rpmkeys", "--dbpath", db, "--import", keyFile).CombinedOutput(); err != nil {
				t.Fatalf("rpmkeys --import: %v\n%s", err, out)
			}
			out, err := exec.Command("rpm", "--dbpath", db, "-q", "gpg-pubkey", "--qf", "%{VERSION}\n").CombinedOutput()
			if err != nil {
				t.Fatalf("rpm -q gpg-pubkey: %v\n%s", err, out)
			}
			if got, want := strings.TrimSpace(string(out)), strings.ToLower(k.Fingerprint()[32:]); got != want {
				t.Errorf("rpm imported key %s, want %s", got, want)
			}
		})
	}
}
