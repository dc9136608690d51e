package rpm

import (
	"fmt"
	"strings"

	"github.com/packhouse/packhouse/internal/spec"
)

// goArches maps Go's GOARCH (with the GOARM level appended for arm, as
// "arm7") to rpm's architecture names.
var goArches = map[string]string{
	"amd64":    "x86_64",
	"386":      "i686",
	"arm64":    "aarch64",
	"arm":      "armv7hl",
	"arm5":     "armv5tel",
	"arm6":     "armv6hl",
	"arm7":     "armv7hl",
	"ppc64le":  "ppc64le",
	"ppc64":    "ppc64",
	"s390x":    "s390x",
	"riscv64":  "riscv64",
	"mips":     "mips",
	"mipsle":   "mipsel",
	"mips64":   "mips64",
	"mips64le": "mips64el",
	"loong64":  "loongarch64",
	"all":      "noarch",
	"any":      "noarch",
	"":         "noarch",
}

// Arch returns rpm's name for a Go architecture. Names that are already
// rpm's (x86_64, noarch, …) and unknown names are returned unchanged, so
// that Arch can be applied to a value of either kind.
func Arch(goarch string) string {
	if a, ok := goArches[goarch]; ok {
		return a
	}
	return goarch
}

// leadArchNum is the lead's architecture number (rpmrc's arch_canon). rpm
// 4 ignores it, but older tools (file(1), some mirrors' scripts) read it.
func leadArchNum(arch string) uint16 {
	switch {
	case arch == "x86_64" || arch == "i386" || arch == "i486" || arch == "i586" || arch == "i686" || arch == "athlon":
		return 1
	case strings.HasPrefix(arch, "alpha"):
		return 2
	case strings.HasPrefix(arch, "sparc"):
		return 3
	case arch == "mips" || arch == "mipsel":
		return 4
	case arch == "ppc":
		return 5
	case arch == "ia64":
		return 9
	case arch == "mips64" || arch == "mips64el":
		return 11
	case strings.HasPrefix(arch, "arm"):
		return 12
	case arch == "s390":
		return 14
	case arch == "s390x":
		return 15
	case strings.HasPrefix(arch, "ppc64"):
		return 16
	case arch == "aarch64":
		return 19
	case arch == "riscv64":
		return 22
	case arch == "loongarch64":
		return 23
	}
	return 0
}

// isaName is the "(x86-64)" part of the architecture-qualified provide that
// rpmbuild adds (name(x86-64) = EVR), which multilib requirements such as
// "foo(x86-64)" resolve against.
func isaName(arch string) string {
	switch arch {
	case "x86_64":
		return "x86-64"
	case "i386", "i486", "i586", "i686", "athlon":
		return "x86-32"
	case "aarch64":
		return "aarch-64"
	case "armv7hl", "armv7hnl":
		return "arm-32"
	case "ppc64le", "ppc64":
		return "ppc-64"
	case "s390x":
		return "s390-64"
	case "riscv64":
		return "riscv-64"
	}
	return ""
}

// FileName is the conventional name of p's package file:
// name-version-release.arch.rpm (the epoch is not part of it).
func FileName(p *spec.Package) string {
	_, v, r, err := versionRelease(p)
	if err != nil {
		// Write will refuse p; a name is still useful in its error.
		v, r = p.Version, p.Release
	}
	return p.Name + "-" + v + "-" + r + "." + Arch(p.Arch) + ".rpm"
}

// versionRelease splits spec.FullVersion's [epoch:]version-release, which
// puts the prerelease after a tilde (sorted before the release: 1.0~rc1 <
// 1.0) and checks what rpm can hold.
func versionRelease(p *spec.Package) (epoch, version, release string, err error) {
	full, err := spec.FullVersion(spec.FormatRPM, p)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if e, rest, ok := strings.Cut(full, ":"); ok {
		epoch, full = e, rest
	}
	i := strings.LastIndexByte(full, '-')
	return epoch, full[:i], full[i+1:], nil
}
