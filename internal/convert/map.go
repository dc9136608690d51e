package convert

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/packhouse/packhouse/internal/lazyre"
	"github.com/packhouse/packhouse/internal/spec"
)

// Notes collects what a conversion could not carry over, each said once.
type Notes struct {
	list []string
	seen map[string]bool
}

func (n *Notes) add(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if !n.seen[s] {
		n.seen[s] = true
		n.list = append(n.list, s)
	}
}

// List returns the notes in the order they were found.
func (n *Notes) List() []string { return n.list }

// Package maps d to a package in format (a spec format name). buildTime
// is used where the format records when it was built; zero means the
// newest time in the .deb.
func Package(d *Deb, format string, buildTime time.Time) (*spec.Package, *Notes, error) {
	notes := &Notes{}
	m := &mapper{d: d, format: format, notes: notes}
	p, err := m.pkg(buildTime)
	return p, notes, err
}

type mapper struct {
	d      *Deb
	format string
	notes  *Notes
}

// handledFields are control fields that Package maps or that describe the
// .deb itself; any other field is reported as dropped.
var handledFields = map[string]bool{
	"package": true, "version": true, "architecture": true, "maintainer": true, "installed-size": true,
	"description": true, "section": true, "priority": true, "homepage": true,
	"depends": true, "pre-depends": true, "recommends": true, "suggests": true,
	"conflicts": true, "breaks": true, "replaces": true, "provides": true,
	"source": true, "original-maintainer": true,
}

func (m *mapper) pkg(buildTime time.Time) (*spec.Package, error) {
	d := m.d
	p := &spec.Package{
		Name:       d.Get("Package"),
		Platform:   "linux",
		Maintainer: d.Get("Maintainer"),
		Homepage:   d.Get("Homepage"),
		Section:    d.Get("Section"),
		Priority:   d.Get("Priority"),
		BuildTime:  buildTime,
	}
	if p.BuildTime.IsZero() {
		p.BuildTime = d.BuildTime
	}
	p.BuildTime = p.BuildTime.Truncate(time.Second).UTC()
	arch, err := spec.FormatArch(m.format, d.Get("Architecture"))
	if err != nil {
		return nil, fmt.Errorf("architecture %q: %w", d.Get("Architecture"), err)
	}
	p.Arch = arch
	if err := m.version(p); err != nil {
		return nil, err
	}
	desc := strings.Split(d.Get("Description"), "\n")
	p.Summary = strings.TrimSpace(desc[0])
	var rest []string
	for _, l := range desc[1:] {
		l = strings.TrimPrefix(strings.TrimPrefix(l, " "), "\t")
		if strings.TrimSpace(l) == "." {
			l = ""
		}
		rest = append(rest, l)
	}
	p.Description = strings.Join(rest, "\n")
	p.License = "unknown"
	for _, e := range d.Entries {
		if e.Path == "/usr/share/doc/"+p.Name+"/copyright" {
			p.License = "see /usr/share/doc/" + p.Name + "/copyright"
		}
	}
	if p.License == "unknown" {
		m.notes.add("no license: a .deb does not state one and this one has no /usr/share/doc/%s/copyright", p.Name)
	}
	for _, f := range d.Fields {
		if !handledFields[strings.ToLower(f.Name)] {
			m.notes.add("control field %s dropped: %s has no equivalent", f.Name, m.format)
		}
	}

	p.Depends = m.relations("Depends", d.Get("Depends"))
	if pre := m.relations("Pre-Depends", d.Get("Pre-Depends")); len(pre) > 0 {
		m.notes.add("Pre-Depends became ordinary dependencies: %s cannot require them before unpacking", m.format)
		p.Depends = append(pre, p.Depends...)
	}
	p.Recommends = m.relations("Recommends", d.Get("Recommends"))
	p.Suggests = m.relations("Suggests", d.Get("Suggests"))
	if m.format == spec.FormatAPK && len(p.Recommends)+len(p.Suggests) > 0 {
		m.notes.add("Recommends and Suggests dropped: apk has no weak dependencies")
		p.Recommends, p.Suggests = nil, nil
	}
	p.Conflicts = m.relations("Conflicts", d.Get("Conflicts"))
	if br := m.relations("Breaks", d.Get("Breaks")); len(br) > 0 {
		m.notes.add("Breaks became Conflicts, which also forbid the two being unpacked together")
		p.Conflicts = append(p.Conflicts, br...)
	}
	p.Replaces = m.relations("Replaces", d.Get("Replaces"))
	p.Provides = m.relations("Provides", d.Get("Provides"))
	if m.format != spec.FormatArchive && len(p.Depends) > 0 {
		m.notes.add("dependency names are Debian's; packages may be named differently on the target system")
	}

	m.scripts(p)
	if err := m.contents(p); err != nil {
		return nil, err
	}
	if _, err := spec.FullVersion(m.format, p); err != nil {
		return nil, fmt.Errorf("version %q: %w", d.Get("Version"), err)
	}
	return p, nil
}

// splitDebVersion splits [epoch:]upstream[-revision].
func splitDebVersion(v string) (epoch, upstream, revision string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		epoch, v = e, rest
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

var (
	apkSuffixRE  = lazyre.New(`^(alpha|beta|pre|rc|p)[0-9]*$`)
	apkVersionRE = lazyre.New(`^[0-9]+(\.[0-9]+)*[a-z]?$`)
	leadDigits   = lazyre.New(`^[0-9]+`)
	// pacman's pkgrel, and a tilde before a letter in a Debian version.
	archPkgrelRE  = lazyre.New(`^[0-9]+(\.[0-9]+)?$`)
	tildeLetterRE = lazyre.New(`~([A-Za-z])`)
)

func (m *mapper) version(p *spec.Package) error {
	full := m.d.Get("Version")
	epoch, up, rev := splitDebVersion(full)
	switch m.format {
	case spec.FormatRPM:
		p.Epoch = epoch
		p.Version = strings.NewReplacer("-", "_", ":", "_").Replace(up)
		if p.Version != up {
			m.notes.add("version %s became %s: rpm versions cannot hold '-' or ':'", up, p.Version)
		}
		p.Release = rev
	case spec.FormatArchLinux:
		p.Epoch = epoch
		v := strings.NewReplacer("-", "_", ":", "_").Replace(up)
		// pacman sorts 1.0rc1 before 1.0, as dpkg sorts 1.0~rc1.
		v = tildeLetterRE.ReplaceAllString(v, "$1")
		if strings.Contains(v, "~") {
			v = strings.ReplaceAll(v, "~", ".")
			m.notes.add("version %s became %s: pacman has no '~', and this one may sort differently", up, v)
		} else if v != up {
			m.notes.add("version %s became %s for pacman", up, v)
		}
		p.Version = v
		p.Release = archRelease(rev, m.notes)
	case spec.FormatAPK:
		if epoch != "" {
			m.notes.add("epoch %s dropped: apk versions have none", epoch)
		}
		v, err := apkVersion(up)
		if err != nil {
			return fmt.Errorf("version %q: %w", full, err)
		}
		if v != up {
			m.notes.add("version %s became %s for apk", up, v)
		}
		p.Version = v
		switch {
		case rev == "":
		case leadDigits.MatchString(rev) && leadDigits.FindString(rev) == rev:
			p.Release = rev
		default:
			p.Release = leadDigits.FindString(rev)
			m.notes.add("revision %s became -r%s: apk's must be a number", rev, orZero(p.Release))
		}
	default:
		p.Epoch = epoch
		p.Version = up
		if rev != "" {
			p.Version += "-" + rev
		}
	}
	return nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func archRelease(rev string, notes *Notes) string {
	if rev == "" {
		return "1"
	}
	if archPkgrelRE.MatchString(rev) {
		return rev
	}
	r := leadDigits.FindString(rev)
	if r == "" {
		r = "1"
	}
	notes.add("revision %s became pkgrel %s: pacman's must be a number", rev, r)
	return r
}

// apkVersion fits a Debian upstream version into apk's grammar: a
// "~rc1"-style pre-release becomes "_rc1", "+dfsg"-style suffixes go.
func apkVersion(up string) (string, error) {
	v, pre, _ := strings.Cut(up, "~")
	v, _, _ = strings.Cut(v, "+")
	if !apkVersionRE.MatchString(v) {
		return "", fmt.Errorf("%s is not an apk version (numbers and dots, an optional letter)", up)
	}
	if pre != "" {
		pre = strings.ReplaceAll(strings.ToLower(pre), ".", "")
		if !apkSuffixRE.MatchString(pre) {
			return "", fmt.Errorf("pre-release %s of %s is not alpha, beta, pre or rc", pre, up)
		}
		v += "_" + pre
	}
	return v, nil
}

// relation is one alternative of a Debian relationship field.
type relation struct{ name, op, version string }

var relationRE = lazyre.New(`^([a-zA-Z0-9][a-zA-Z0-9+.-]*)(:[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?\s*(\[[^]]*\])?\s*$`)

// relations converts a Debian relationship field (comma-separated, with
// | alternatives) into the format's dependency strings.
func (m *mapper) relations(field, value string) []string {
	var out []string
	for _, group := range strings.Split(value, ",") {
		group = strings.TrimSpace(strings.ReplaceAll(group, "\n", " "))
		if group == "" {
			continue
		}
		var alts []relation
		for _, a := range strings.Split(group, "|") {
			mm := relationRE.FindStringSubmatch(strings.TrimSpace(a))
			if mm == nil {
				m.notes.add("%s entry %q dropped: not a Debian relationship", field, strings.TrimSpace(a))
				continue
			}
			if mm[2] != "" {
				m.notes.add("architecture qualifiers such as %s dropped from %s", mm[2], field)
			}
			if mm[5] != "" {
				m.notes.add("architecture restriction %s dropped from %s", mm[5], field)
			}
			op := map[string]string{"<<": "<", ">>": ">", "<": "<=", ">": ">="}[mm[3]]
			if op == "" {
				op = mm[3]
			}
			alts = append(alts, relation{mm[1], op, mm[4]})
		}
		if len(alts) == 0 {
			continue
		}
		if len(alts) > 1 && m.format != spec.FormatRPM {
			m.notes.add("%s alternatives %q reduced to %s: %s has no alternatives", field, group, alts[0].name, m.format)
			alts = alts[:1]
		}
		var parts []string
		for _, r := range alts {
			parts = append(parts, m.relation(field, r))
		}
		if len(parts) == 1 {
			out = append(out, parts[0])
		} else {
			out = append(out, "("+strings.Join(parts, " or ")+")")
		}
	}
	return out
}

func (m *mapper) relation(field string, r relation) string {
	if r.op == "" {
		return r.name
	}
	switch m.format {
	case spec.FormatRPM:
		return r.name + " " + r.op + " " + r.version
	case spec.FormatAPK:
		_, up, rev := splitDebVersion(r.version)
		v, err := apkVersion(up)
		if err != nil {
			m.notes.add("%s on %s lost its version (%s %s): %v", field, r.name, r.op, r.version, err)
			return r.name
		}
		if rev != "" && leadDigits.FindString(rev) == rev {
			v += "-r" + rev
		}
		return r.name + r.op + v
	case spec.FormatArchLinux:
		return r.name + r.op + r.version
	}
	return r.name + " (" + r.op + " " + r.version + ")"
}

// scripts wraps each maintainer script so that it gets the arguments dpkg
// would have given it: a script that tests [ "$1" = configure ] keeps
// working under rpm, apk and pacman, which call scripts differently.
func (m *mapper) scripts(p *spec.Package) {
	s := m.d.Scripts
	for name := range s {
		switch name {
		case "preinst", "postinst", "prerm", "postrm", "md5sums", "shlibs", "symbols", "conffiles":
		case "templates", "config":
			m.notes.add("debconf %s dropped: %s has no debconf; questions will not be asked", name, m.format)
		case "triggers":
			m.notes.add("dpkg triggers dropped: %s does not run them", m.format)
		default:
			m.notes.add("control file %s dropped", name)
		}
	}
	if m.format == spec.FormatArchive {
		if s["preinst"]+s["postinst"]+s["prerm"]+s["postrm"] != "" {
			m.notes.add("maintainer scripts dropped: an archive has none")
		}
		return
	}
	if s["postrm"] != "" {
		m.notes.add("postrm is never called with purge: %s does not distinguish remove from purge", m.format)
	}
	set := func(dst *string, key, script, args string) {
		if script == "" {
			return
		}
		*dst = withArgs(script, args)
		if m.format == spec.FormatRPM {
			if interp := shebang(script); interp != "" && interp != "/bin/sh" {
				if p.Scripts.Interpreters == nil {
					p.Scripts.Interpreters = map[string]string{}
				}
				p.Scripts.Interpreters[key] = interp
			}
		}
	}
	switch m.format {
	case spec.FormatRPM:
		// rpm passes the number of instances left after the operation.
		set(&p.Scripts.PreInstall, "preinstall", s["preinst"], `if [ "${1:-1}" -ge 2 ] 2>/dev/null; then set -- upgrade; else set -- install; fi`)
		set(&p.Scripts.PostInstall, "postinstall", s["postinst"], `set -- configure`)
		set(&p.Scripts.PreRemove, "preremove", s["prerm"], `if [ "${1:-0}" -ge 1 ] 2>/dev/null; then set -- upgrade; else set -- remove; fi`)
		set(&p.Scripts.PostRemove, "postremove", s["postrm"], `if [ "${1:-0}" -ge 1 ] 2>/dev/null; then set -- upgrade; else set -- remove; fi`)
	default:
		// apk and pacman call separate scripts for installs and upgrades.
		set(&p.Scripts.PreInstall, "preinstall", s["preinst"], `set -- install`)
		set(&p.Scripts.PreUpgrade, "preupgrade", s["preinst"], `set -- upgrade`)
		set(&p.Scripts.PostInstall, "postinstall", s["postinst"], `set -- configure`)
		set(&p.Scripts.PostUpgrade, "postupgrade", s["postinst"], `set -- configure`)
		set(&p.Scripts.PreRemove, "preremove", s["prerm"], `set -- remove`)
		set(&p.Scripts.PostRemove, "postremove", s["postrm"], `set -- remove`)
	}
}

func shebang(script string) string {
	if !strings.HasPrefix(script, "#!") {
		return ""
	}
	line, _, _ := strings.Cut(script[2:], "\n")
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// withArgs puts a "set --" line after the script's #! line.
func withArgs(script, args string) string {
	const note = "# packhouse convert: the arguments dpkg would pass\n"
	if strings.HasPrefix(script, "#!") {
		line, rest, _ := strings.Cut(script, "\n")
		return line + "\n" + note + args + "\n" + rest
	}
	return note + args + "\n" + script
}

// systemDirs are directories a converted package lists but must not own:
// an rpm owning /usr/bin would take it away on removal, in principle.
var systemDirs = map[string]bool{}

func init() {
	for _, d := range strings.Fields(`/bin /boot /etc /etc/default /etc/init.d /etc/logrotate.d /etc/cron.d
		/etc/systemd /etc/systemd/system /etc/profile.d /home /lib /lib64 /lib/systemd /lib/systemd/system
		/opt /run /sbin /srv /tmp /usr /usr/bin /usr/include /usr/lib /usr/lib64 /usr/libexec /usr/local
		/usr/local/bin /usr/local/lib /usr/local/share /usr/sbin /usr/share /usr/share/applications
		/usr/share/doc /usr/share/icons /usr/share/info /usr/share/locale /usr/share/man /usr/share/pixmaps
		/usr/share/bash-completion /usr/share/bash-completion/completions /usr/lib/systemd
		/usr/lib/systemd/system /var /var/cache /var/lib /var/log /var/run /var/spool`) {
		systemDirs[d] = true
	}
	for i := 1; i <= 9; i++ {
		systemDirs[fmt.Sprintf("/usr/share/man/man%d", i)] = true
	}
}

func isSystemDir(p string) bool {
	if systemDirs[p] {
		return true
	}
	// Multiarch library directories: /usr/lib/x86_64-linux-gnu and the like.
	dir, base := path.Split(p)
	return (dir == "/usr/lib/" || dir == "/lib/") && strings.Contains(base, "-linux-")
}

func (m *mapper) contents(p *spec.Package) error {
	seen := map[string]bool{}
	for _, e := range m.d.Entries {
		if e.Skipped != "" {
			m.notes.add("%s dropped: %s", e.Path, e.Skipped)
			continue
		}
		c := spec.Content{Destination: e.Path, Mode: unixToMode(e.Mode), Owner: e.Owner, Group: e.Group, MTime: e.MTime.Truncate(time.Second)}
		switch e.Type {
		case tar.TypeDir:
			c.Type = spec.TypeDir
			c.Implicit = isSystemDir(e.Path)
		case tar.TypeSymlink:
			c.Type, c.Target, c.Mode = spec.TypeSymlink, e.Target, 0o777
		default:
			c.Type, c.Source, c.Size = spec.TypeFile, e.Source, e.Size
			if m.d.Conffiles[e.Path] {
				// dpkg keeps a conffile the admin changed, as rpm's
				// %config(noreplace) does.
				c.Type = spec.TypeConfigNoReplace
			}
			if e.Hardlink {
				m.notes.add("hard links became separate copies (%s)", e.Path)
			}
		}
		seen[e.Path] = true
		p.Contents = append(p.Contents, c)
	}
	// Parents the .deb did not list.
	for _, c := range append([]spec.Content(nil), p.Contents...) {
		for dir := path.Dir(c.Destination); dir != "/"; dir = path.Dir(dir) {
			if !seen[dir] {
				seen[dir] = true
				p.Contents = append(p.Contents, spec.Content{Type: spec.TypeDir, Destination: dir, Mode: 0o755,
					Owner: "root", Group: "root", MTime: p.BuildTime, Implicit: true})
			}
		}
	}
	sort.Slice(p.Contents, func(i, j int) bool { return p.Contents[i].Destination < p.Contents[j].Destination })
	return nil
}

func unixToMode(n int64) fs.FileMode {
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
