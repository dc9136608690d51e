// Package repoconfig writes what a package manager needs to use a view of
// a packhouse repository: apt's deb822 stanza, dnf's .repo file, a
// pacman.conf section and apk's repositories line.
package repoconfig

import (
	"fmt"
	"regexp"
	"strings"
)

// View names a repository at a branch on a server.
type View struct {
	Server string // base URL, no trailing slash
	Repo   string
	Branch string
}

// Formats are the configurations Write makes.
var Formats = []string{"deb", "rpm", "arch", "apk"}

// Deb is a deb822 .sources stanza. key, when not empty, is the armored
// public key, embedded in Signed-By (apt 2.3 and later); else keyFile is
// named there.
func Deb(v View, key []byte, keyFile, archs string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Types: deb\nURIs: %s/apt/%s\nSuites: %s\nComponents: main\n", v.Server, v.Repo, v.Branch)
	if archs != "" {
		fmt.Fprintf(&b, "Architectures: %s\n", archs)
	}
	if len(key) == 0 {
		fmt.Fprintf(&b, "Signed-By: %s\n", keyFile)
		return b.String()
	}
	b.WriteString("Signed-By:\n")
	for _, line := range strings.Split(strings.TrimRight(string(key), "\n"), "\n") {
		// deb822 continuation lines; an empty line is written ".".
		if strings.TrimSpace(line) == "" {
			line = "."
		}
		fmt.Fprintf(&b, " %s\n", line)
	}
	return b.String()
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.:-]+`)

// ID is a name for the view where a client needs one: a dnf repository
// id, a pacman section. Branch names may hold '/', which neither takes.
func (v View) ID() string {
	return idUnsafe.ReplaceAllString(v.Repo+"-"+v.Branch, "-")
}

// RPM is a .repo file for dnf and yum (/etc/yum.repos.d) and for zypper
// (/etc/zypp/repos.d). gpgcheck checks the packages' own signatures,
// which needs signed rpms; repo_gpgcheck checks the repository metadata,
// which the server signs. zypper checks packages only when pkg_gpgcheck
// says so (by default, not in a repository whose metadata is signed), and
// refreshes only with autorefresh; dnf and yum pass over both, as they do
// type.
func RPM(v View, gpgcheck bool) string {
	check := 0
	if gpgcheck {
		check = 1
	}
	return fmt.Sprintf(`[%s]
name=%s at %s
type=rpm-md
baseurl=%s/rpm/%s/%s
enabled=1
autorefresh=1
gpgcheck=%d
pkg_gpgcheck=%d
repo_gpgcheck=1
gpgkey=%s/keys/packhouse.asc
metadata_expire=60
`, v.ID(), v.Repo, v.Branch, v.Server, v.Repo, v.Branch, check, check, v.Server)
}

// Arch is a pacman.conf section. Its name is the database file pacman
// fetches; the server serves any. The server's key must be in pacman's
// keyring: pacman-key --add, then --lsign-key with its fingerprint.
func Arch(v View, fingerprint string) string {
	return fmt.Sprintf(`# pacman-key --add <(curl -fsS %s/keys/packhouse.asc) && pacman-key --lsign-key %s
[%s]
SigLevel = DatabaseRequired PackageOptional
Server = %s/arch/%s/%s/$arch
`, v.Server, fingerprint, v.ID(), v.Server, v.Repo, v.Branch)
}

// APK is a line of /etc/apk/repositories, with the command that installs
// the server's key under the name its signatures give.
func APK(v View, keyName string) string {
	return fmt.Sprintf(`# wget -O /etc/apk/keys/%[2]s.rsa.pub %[1]s/apk/keys/%[2]s.rsa.pub
%[1]s/apk/%[3]s/%[4]s
`, v.Server, keyName, v.Repo, v.Branch)
}
