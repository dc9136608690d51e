package spec

import (
	"fmt"
	"strings"
)

// Formats packhouse writes. The archive format covers .tar.xz, .tar.gz and
// .zip, which share its naming.
const (
	FormatDeb       = "deb"
	FormatRPM       = "rpm"
	FormatAPK       = "apk"
	FormatArchLinux = "archlinux"
	FormatArchive   = "archive"
)

var formatNames = map[string]bool{
	FormatDeb: true, FormatRPM: true, FormatAPK: true, FormatArchLinux: true, FormatArchive: true,
}

// archAliases maps every accepted spelling to a canonical name, which is
// Go's GOARCH (with GOARM folded in: arm5, arm6, arm7) as in nfpm, so that
// GoReleaser's ${GOARCH} works unchanged. uname -m names and the names the
// distributions use are accepted too. "armhf" means ARMv7 hard-float, as
// in Debian; Alpine's armhf (ARMv6) is "arm6".
var archAliases = map[string]string{
	"all": "all", "noarch": "all", "any": "all",
	"amd64": "amd64", "x86_64": "amd64", "x64": "amd64",
	"386": "386", "i386": "386", "i486": "386", "i586": "386", "i686": "386", "x86": "386",
	"arm64": "arm64", "aarch64": "arm64",
	"arm5": "arm5", "armel": "arm5", "armv5": "arm5", "armv5tel": "arm5", "arm": "arm5",
	"arm6": "arm6", "armv6": "arm6", "armv6h": "arm6", "armv6hl": "arm6", "armv6l": "arm6",
	"arm7": "arm7", "armv7": "arm7", "armv7h": "arm7", "armv7hl": "arm7", "armv7l": "arm7", "armhf": "arm7",
	"ppc64le": "ppc64le", "ppc64el": "ppc64le",
	"s390x": "s390x", "s390": "s390x",
	"riscv64": "riscv64", "riscv64gc": "riscv64",
	"loong64": "loong64", "loongarch64": "loong64",
	"mips": "mips", "mipsle": "mipsle", "mipsel": "mipsle",
	"mips64": "mips64", "mips64le": "mips64le", "mips64el": "mips64le",
}

// archNames gives each canonical architecture its name in each format. An
// empty name means the format has no port for it.
var archNames = map[string]map[string]string{
	//            deb         rpm            apk            archlinux  archive
	"all":      {FormatDeb: "all", FormatRPM: "noarch", FormatAPK: "noarch", FormatArchLinux: "any", FormatArchive: "all"},
	"amd64":    {FormatDeb: "amd64", FormatRPM: "x86_64", FormatAPK: "x86_64", FormatArchLinux: "x86_64", FormatArchive: "amd64"},
	"386":      {FormatDeb: "i386", FormatRPM: "i686", FormatAPK: "x86", FormatArchLinux: "i686", FormatArchive: "386"},
	"arm64":    {FormatDeb: "arm64", FormatRPM: "aarch64", FormatAPK: "aarch64", FormatArchLinux: "aarch64", FormatArchive: "arm64"},
	"arm5":     {FormatDeb: "armel", FormatRPM: "armv5tel", FormatAPK: "", FormatArchLinux: "arm", FormatArchive: "armv5"},
	"arm6":     {FormatDeb: "armhf", FormatRPM: "armv6hl", FormatAPK: "armhf", FormatArchLinux: "armv6h", FormatArchive: "armv6"},
	"arm7":     {FormatDeb: "armhf", FormatRPM: "armv7hl", FormatAPK: "armv7", FormatArchLinux: "armv7h", FormatArchive: "armv7"},
	"ppc64le":  {FormatDeb: "ppc64el", FormatRPM: "ppc64le", FormatAPK: "ppc64le", FormatArchLinux: "", FormatArchive: "ppc64le"},
	"s390x":    {FormatDeb: "s390x", FormatRPM: "s390x", FormatAPK: "s390x", FormatArchLinux: "", FormatArchive: "s390x"},
	"riscv64":  {FormatDeb: "riscv64", FormatRPM: "riscv64", FormatAPK: "riscv64", FormatArchLinux: "riscv64", FormatArchive: "riscv64"},
	"loong64":  {FormatDeb: "loong64", FormatRPM: "loongarch64", FormatAPK: "loongarch64", FormatArchLinux: "", FormatArchive: "loong64"},
	"mips":     {FormatDeb: "mips", FormatRPM: "mips", FormatAPK: "", FormatArchLinux: "", FormatArchive: "mips"},
	"mipsle":   {FormatDeb: "mipsel", FormatRPM: "mipsel", FormatAPK: "", FormatArchLinux: "", FormatArchive: "mipsle"},
	"mips64":   {FormatDeb: "mips64", FormatRPM: "mips64", FormatAPK: "", FormatArchLinux: "", FormatArchive: "mips64"},
	"mips64le": {FormatDeb: "mips64el", FormatRPM: "mips64el", FormatAPK: "", FormatArchLinux: "", FormatArchive: "mips64le"},
}

// CanonicalArch returns the canonical name (Go's) for an architecture
// spelt in any accepted way.
func CanonicalArch(arch string) (string, error) {
	a, ok := archAliases[strings.ToLower(strings.TrimSpace(arch))]
	if !ok {
		return "", fmt.Errorf("unknown architecture %q (use Go's names: amd64, arm64, arm7, 386, …, or all)", arch)
	}
	return a, nil
}

// FormatArch returns the architecture's name in a format's own naming.
func FormatArch(format, arch string) (string, error) {
	canon, err := CanonicalArch(arch)
	if err != nil {
		return "", err
	}
	name := archNames[canon][format]
	if name == "" {
		return "", fmt.Errorf("%s has no port for %s", format, canon)
	}
	return name, nil
}

// Formats lists the format names Resolve accepts.
func Formats() []string { return sortedKeys(formatNames) }
