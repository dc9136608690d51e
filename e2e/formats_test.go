package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packhouse/packhouse/internal/sign"
)

// pkgSpec is a package built by `packhouse build` from an nfpm spec.
type pkgSpec struct {
	name, version, arch string
	depends             []string
	extra               string // more YAML, such as a signature section
}

// buildPkg builds one package of format (a --packager name) and returns
// its path.
func (s *server) buildPkg(t *testing.T, p pkgSpec, format string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "payload"), []byte(p.name+" "+p.version+"\n"), 0o644)
	y := fmt.Sprintf("name: %s\nversion: %s\nrelease: 1\narch: %s\nmaintainer: Test <test@example.org>\ndescription: %s for an end-to-end test\nlicense: MIT\n",
		p.name, p.version, p.arch, p.name)
	if len(p.depends) > 0 {
		y += "depends:\n"
		for _, d := range p.depends {
			y += "  - " + d + "\n"
		}
	}
	y += "contents:\n  - src: ./payload\n    dst: /usr/share/" + p.name + "/payload\n" + p.extra
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(y), 0o644)
	out := strings.TrimSpace(s.ph("build", "-f", filepath.Join(dir, "nfpm.yaml"), "--packager", format, "--target", filepath.Join(dir, "dist")))
	if strings.Contains(out, "\n") || !strings.HasPrefix(out, dir) {
		t.Fatalf("build printed:\n%s", out)
	}
	return out
}

// startProduct starts a server with projects deps and server, both with
// default branch main, in repository product: what the client tests
// install across.
func startProduct(t *testing.T) *server {
	t.Helper()
	s := startServer(t)
	s.ph("project", "create", "deps", "--default-branch", "main", "--repo", "product")
	s.ph("project", "create", "server", "--default-branch", "main", "--repo", "product")
	return s
}

// rpmSigned makes a packager key and returns its public key's path and
// the spec section that signs rpms with it.
func rpmSigned(t *testing.T) (pub, extra string) {
	t.Helper()
	key, pub := packagerKey(t)
	return pub, "rpm:\n  signature:\n    key_file: " + key + "\n"
}

// packagerKey writes a new OpenPGP key that signs packages, as a packager
// would have, and returns the private key's path and the public key's.
func packagerKey(t *testing.T) (string, string) {
	t.Helper()
	k, err := sign.Generate("Packager", "packager@example.org", sign.RSA3072, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, _ := k.ArmoredPrivate()
	pub, _ := k.ArmoredPublic()
	os.WriteFile(filepath.Join(dir, "packager.asc"), priv, 0o600)
	os.WriteFile(filepath.Join(dir, "packager.pub.asc"), pub, 0o644)
	return filepath.Join(dir, "packager.asc"), filepath.Join(dir, "packager.pub.asc")
}

// dnf is the host's dnf with its own configuration, cache and install
// root, pointed at one repository view.
type dnf struct {
	t    *testing.T
	root string
	opts []string
}

func newDNF(t *testing.T, s *server, repo, branch, extraKey string) *dnf {
	t.Helper()
	dir := t.TempDir()
	reposd := filepath.Join(dir, "repos.d")
	os.MkdirAll(reposd, 0o755)
	conf := s.ph("repo-config", repo, branch, "--format", "rpm")
	if !strings.Contains(conf, "gpgcheck=1") || !strings.Contains(conf, "repo_gpgcheck=1") {
		t.Fatalf("repo-config --format rpm:\n%s", conf)
	}
	// The packages are signed by their packager's key, the metadata by
	// the server's.
	conf = strings.Replace(conf, "/keys/packhouse.asc", "/keys/packhouse.asc file://"+extraKey, 1)
	os.WriteFile(filepath.Join(reposd, "view.repo"), []byte(conf), 0o644)
	root := filepath.Join(dir, "root")
	return &dnf{t: t, root: root, opts: []string{
		"-y", "--installroot=" + root, "--setopt=reposdir=" + reposd, "--setopt=cachedir=" + filepath.Join(dir, "cache"),
		"--setopt=install_weak_deps=False", "--releasever=1", "--forcearch=x86_64", "--nodocs",
	}}
}

func (d *dnf) run(args ...string) string {
	d.t.Helper()
	out, err := exec.Command("dnf", append(d.opts, args...)...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("dnf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The real dnf, checking the packages' signatures and the repository's,
// installs from a branch view an rpm whose dependency lives in another
// project's default branch, and sees a newer version after a push.
func TestDNFInstallAcrossProjects(t *testing.T) {
	need(t, "dnf", "rpm")
	s := startProduct(t)
	pub, signed := rpmSigned(t)

	s.ph("push", "--project", "deps", "--branch", "main", s.buildPkg(t, pkgSpec{name: "libgreet", version: "0.1.0", arch: "all", extra: signed}, "rpm"))
	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.0.0", arch: "amd64", depends: []string{"libgreet"}, extra: signed}, "rpm"))

	d := newDNF(t, s, "product", "feature/login", pub)
	d.run("makecache")
	d.run("install", "greeter")
	out, err := exec.Command("rpm", "--root", d.root, "-q", "greeter", "libgreet").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "greeter-2.0.0-1.x86_64") || !strings.Contains(string(out), "libgreet-0.1.0-1.noarch") {
		t.Fatalf("rpm -q in the install root: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(d.root, "usr/share/greeter/payload")); err != nil || string(b) != "greeter 2.0.0\n" {
		t.Fatalf("installed payload: %q, %v", b, err)
	}

	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.1.0", arch: "amd64", depends: []string{"libgreet"}, extra: signed}, "rpm"))
	d.run("makecache", "--refresh")
	if out := d.run("list", "--available", "greeter"); !strings.Contains(out, "2.1.0-1") {
		t.Fatalf("after the push dnf lists:\n%s", out)
	}
	d.run("upgrade", "greeter")
	if b, _ := os.ReadFile(filepath.Join(d.root, "usr/share/greeter/payload")); string(b) != "greeter 2.1.0\n" {
		t.Fatalf("upgraded payload: %q", b)
	}

	// The default branch of the server project has no greeter.
	m := newDNF(t, s, "product", "main", pub)
	if out := m.run("list", "--available"); strings.Contains(out, "greeter") || !strings.Contains(out, "libgreet") {
		t.Fatalf("main lists:\n%s", out)
	}
}

// zypper is the host's zypper (libzypp, as on SUSE) with its own root,
// and so its own repositories, caches, trusted keys and rpm database.
type zypper struct {
	t    *testing.T
	root string
}

func newZypper(t *testing.T) *zypper {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	os.MkdirAll(filepath.Join(root, "etc/zypp/repos.d"), 0o755)
	return &zypper{t: t, root: root}
}

func (z *zypper) try(args ...string) (string, error) {
	out, err := exec.Command("zypper", append([]string{"--non-interactive", "--root", z.root}, args...)...).CombinedOutput()
	return string(out), err
}

func (z *zypper) run(args ...string) string {
	z.t.Helper()
	out, err := z.try(args...)
	if err != nil {
		z.t.Fatalf("zypper %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// The real zypper, as SUSE customers run it: from the repository file
// repo-config prints, it checks the repository's signature and the
// packages', installs an rpm whose dependency lives in another project's
// default branch, and upgrades it after a push. Added by URL alone, a
// view gives zypper its key as repodata/repomd.xml.key; a key nobody
// trusted is refused.
func TestZypperInstallAcrossProjects(t *testing.T) {
	need(t, "zypper", "rpm")
	s := startProduct(t)
	pub, signed := rpmSigned(t)
	s.ph("push", "--project", "deps", "--branch", "main", s.buildPkg(t, pkgSpec{name: "libgreet", version: "0.1.0", arch: "all", extra: signed}, "rpm"))
	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.0.0", arch: "amd64", depends: []string{"libgreet"}, extra: signed}, "rpm"))

	z := newZypper(t)
	conf := s.ph("repo-config", "product", "feature/login", "--format", "rpm")
	os.WriteFile(filepath.Join(z.root, "etc/zypp/repos.d/product.repo"), []byte(conf), 0o644)
	// The packager's key, as an administrator imports it.
	if out, err := exec.Command("rpm", "--root", z.root, "--import", pub).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v\n%s", err, out)
	}
	// The server's key comes from the gpgkey the file names.
	if out := z.run("--gpg-auto-import-keys", "refresh"); !strings.Contains(strings.ReplaceAll(out, " ", ""), s.fingerprint(t)) {
		t.Fatalf("refresh did not import the server's key %s:\n%s", s.fingerprint(t), out)
	}
	// zypper checks both the metadata's signature and the packages'
	// ("rp"), and refreshes by itself.
	if out := z.run("repos", "--details"); !strings.Contains(out, "(rp) Yes") || !regexp.MustCompile(`\|\s*Yes\s*\|\s*\(rp\) Yes\s*\|\s*Yes\s*\|`).MatchString(out) {
		t.Fatalf("zypper repos:\n%s", out)
	}
	z.run("install", "greeter")
	out, err := exec.Command("rpm", "--root", z.root, "-q", "greeter", "libgreet").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "greeter-2.0.0-1.x86_64") || !strings.Contains(string(out), "libgreet-0.1.0-1.noarch") {
		t.Fatalf("rpm -q in the root: %v\n%s", err, out)
	}

	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.1.0", arch: "amd64", depends: []string{"libgreet"}, extra: signed}, "rpm"))
	z.run("refresh")
	z.run("update", "greeter")
	if b, _ := os.ReadFile(filepath.Join(z.root, "usr/share/greeter/payload")); string(b) != "greeter 2.1.0\n" {
		t.Fatalf("updated payload: %q", b)
	}

	// An rpm signed by a key the machine does not trust is refused.
	_, other := rpmSigned(t)
	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "rogue", version: "1.0.0", arch: "amd64", extra: other}, "rpm"))
	z.run("refresh")
	if out, err := z.try("install", "rogue"); err == nil {
		t.Fatalf("installed an rpm signed by an unknown key:\n%s", out)
	}
	if out, err := exec.Command("rpm", "--root", z.root, "-q", "rogue").CombinedOutput(); err == nil {
		t.Fatalf("rogue is installed:\n%s", out)
	}

	// Added by URL, with no key named: zypper finds repomd.xml.key, and
	// imports it only when told to trust it.
	baseURL := s.url + "/rpm/product/main"
	u := newZypper(t)
	u.run("addrepo", "--gpgcheck", baseURL, "product")
	if out, err := u.try("refresh"); err == nil {
		t.Fatalf("refreshed with a key nobody trusted:\n%s", out)
	}
	if out := u.run("--gpg-auto-import-keys", "refresh"); !strings.Contains(out, "repomd.xml.key") && !strings.Contains(strings.ReplaceAll(out, " ", ""), s.fingerprint(t)) {
		t.Fatalf("refresh did not take the key from the repository:\n%s", out)
	}
	if out := u.run("search", "-s", "libgreet"); !strings.Contains(out, "0.1.0-1") {
		t.Fatalf("main's search:\n%s", out)
	}
}

// pacman is the host's pacman with its own root, databases,
// configuration and keyring, pointed at one repository view.
type pacman struct {
	t    *testing.T
	root string
	opts []string
}

func newPacman(t *testing.T, s *server, repo, branch string) *pacman {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"var/lib/pacman/local", "var/lib/pacman/sync", "cache", "gnupg", "hooks"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	section := s.ph("repo-config", repo, branch, "--format", "arch")
	if !strings.Contains(section, "DatabaseRequired") {
		t.Fatalf("repo-config --format arch:\n%s", section)
	}
	conf := filepath.Join(root, "pacman.conf")
	os.WriteFile(conf, []byte("[options]\nArchitecture = x86_64\nSigLevel = Required\n\n"+section), 0o644)

	// Trust the server's key as pacman-key --add and --lsign-key would:
	// pacman checks signatures against this keyring through gpgme.
	gnupg := filepath.Join(root, "gnupg")
	keyFile := filepath.Join(root, "packhouse.asc")
	key, err := fetchURL(s.url + "/keys/packhouse.asc")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyFile, key, 0o644)
	gpg := func(stdin string, args ...string) {
		cmd := exec.Command("gpg", append([]string{"--homedir", gnupg, "--batch"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
	}
	gpg("", "--import", keyFile)
	gpg(s.fingerprint(t)+":6:\n", "--import-ownertrust")

	return &pacman{t: t, root: root, opts: []string{
		"--config", conf, "--root", root, "--dbpath", filepath.Join(root, "var/lib/pacman"),
		"--cachedir", filepath.Join(root, "cache"), "--logfile", filepath.Join(root, "pacman.log"),
		"--gpgdir", gnupg, "--hookdir", filepath.Join(root, "hooks"), "--noconfirm", "--color", "never",
	}}
}

// run returns pacman's standard output, and its error output with an
// error.
func (p *pacman) run(args ...string) (string, error) {
	var stdout, stderr strings.Builder
	cmd := exec.Command("pacman", append(p.opts, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w\n%s", err, stderr.String())
	}
	return stdout.String(), nil
}

func (p *pacman) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("pacman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// The real pacman syncs a branch view, checking the databases'
// signatures, and installs a package whose dependency lives in another
// project's default branch.
func TestPacmanInstallAcrossProjects(t *testing.T) {
	need(t, "pacman", "gpg")
	s := startProduct(t)
	s.ph("push", "--project", "deps", "--branch", "main", s.buildPkg(t, pkgSpec{name: "libgreet", version: "0.1.0", arch: "all"}, "archlinux"))
	s.ph("push", "--project", "server", "--branch", "main", s.buildPkg(t, pkgSpec{name: "greeter", version: "1.0.0", arch: "amd64"}, "archlinux"))
	s.ph("push", "--project", "server", "--branch", "feature/login",
		s.buildPkg(t, pkgSpec{name: "greeter", version: "2.0.0", arch: "amd64", depends: []string{"libgreet"}}, "archlinux"))

	p := newPacman(t, s, "product", "feature/login")
	p.must("-Sy")
	if out := p.must("-Sl"); !strings.Contains(out, " greeter 2.0.0-1") || strings.Contains(out, "greeter 1.0.0") || !strings.Contains(out, " libgreet 0.1.0-1") {
		t.Fatalf("pacman -Sl:\n%s", out)
	}
	p.must("-S", "greeter")
	if got := p.must("-Q"); got != "greeter 2.0.0-1\nlibgreet 0.1.0-1\n" {
		t.Fatalf("installed:\n%s", got)
	}
	if b, err := os.ReadFile(filepath.Join(p.root, "usr/share/greeter/payload")); err != nil || string(b) != "greeter 2.0.0\n" {
		t.Fatalf("installed payload: %q, %v", b, err)
	}
	// The files database lists the package's files.
	p.must("-Fy")
	if out := p.must("-Fl", "greeter"); !strings.Contains(out, "usr/share/greeter/payload") {
		t.Fatalf("pacman -Fl:\n%s", out)
	}

	// Without the server's key in its keyring, pacman refuses the
	// database: the signature is checked, not merely fetched.
	untrusting := newPacman(t, s, "product", "feature/login")
	del := exec.Command("gpg", "--homedir", filepath.Join(untrusting.root, "gnupg"), "--batch", "--yes", "--delete-keys", s.fingerprint(t))
	if out, err := del.CombinedOutput(); err != nil {
		t.Fatalf("gpg --delete-keys: %v\n%s", err, out)
	}
	if out, err := untrusting.run("-Sy"); err == nil {
		t.Fatalf("pacman -Sy without the key succeeded:\n%s", out)
	}
}

// fingerprint is the server's signing key's.
func (s *server) fingerprint(t *testing.T) string {
	t.Helper()
	section := s.ph("repo-config", "product", "main", "--format", "arch")
	return strings.Fields(strings.SplitN(section, "--lsign-key ", 2)[1])[0]
}

func fetchURL(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
