package spec

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/packhouse/packhouse/internal/lazyre"
)

// maxScriptSize bounds a maintainer script, which is read whole.
const maxScriptSize = 1 << 20

var nameRules = map[string]struct {
	re   *lazyre.Regexp
	rule string
}{
	FormatDeb:       {lazyre.New(`^[a-z0-9][a-z0-9+.-]+$`), "lower-case letters, digits and + - . (at least two characters, starting with a letter or digit)"},
	FormatRPM:       {lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9._+-]*$`), "letters, digits and . _ + -"},
	FormatAPK:       {lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9._+-]*$`), "letters, digits and . _ + -"},
	FormatArchLinux: {lazyre.New(`^[a-z0-9@_+][a-z0-9@._+-]*$`), "lower-case letters, digits and @ . _ + - (not starting with - or .)"},
	FormatArchive:   {lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9._+-]*$`), "letters, digits and . _ + -"},
}

var compressions = map[string][]string{
	FormatDeb: {"gzip", "xz", "zstd", "none"},
	FormatRPM: {"gzip", "lzma", "xz", "zstd"},
}

// Resolve builds the Package for one format and architecture: overrides
// applied, versions composed, contents expanded and checked, scripts read.
// arch is in any accepted spelling; empty means the spec's own arch, to
// which a format section's arch (deb.arch, …) applies verbatim.
func (s *Spec) Resolve(format, arch string) (*Package, error) {
	p, err := s.resolve(format, arch)
	return p, s.locate(err)
}

func (s *Spec) resolve(format, arch string) (*Package, error) {
	if !formatNames[format] {
		return nil, fmt.Errorf("unknown format %q%s", format, suggest(format, sortedKeys(formatNames)))
	}
	o := s.merged(format)
	if err := s.checkUnsupported(&o, ""); err != nil {
		return nil, err
	}
	r := &s.raw
	p := &Package{Platform: "linux"}

	p.Name = s.str(r.Name)
	if p.Name == "" {
		return nil, errorf(r.Name.Line, "name", "required: the package's name")
	}
	if rule := nameRules[format]; !rule.re.MatchString(p.Name) {
		return nil, errorf(r.Name.Line, "name", "%q is not a valid %s package name: %s", p.Name, format, rule.rule)
	}
	if v := s.str(r.Platform); v != "" {
		p.Platform = v
	}

	var err error
	if p.Arch, err = s.resolveArch(format, arch, &o); err != nil {
		return nil, err
	}
	if err := s.resolveVersion(format, p); err != nil {
		return nil, err
	}

	p.Maintainer = s.str(r.Maintainer)
	if p.Maintainer == "" && format == FormatDeb {
		return nil, errorf(r.Maintainer.Line, "maintainer", "required for deb: \"Name <email>\"")
	}
	desc := s.expand(r.Description.Value)
	if strings.TrimSpace(desc) == "" {
		desc = "no description given"
	}
	p.Summary, p.Description = splitDescription(desc)
	p.Vendor = s.str(r.Vendor)
	p.Homepage = s.str(r.Homepage)
	p.License = s.str(r.License)
	p.Section = s.str(r.Section)
	p.Priority = s.str(r.Priority)
	if p.Priority == "" && format == FormatDeb {
		p.Priority = "optional"
	}

	p.Depends = s.strs(o.Depends)
	p.Recommends = s.strs(o.Recommends)
	p.Suggests = s.strs(o.Suggests)
	p.Conflicts = s.strs(o.Conflicts)
	p.Replaces = s.strs(o.Replaces)
	p.Provides = s.strs(o.Provides)

	// Times: the spec's mtime wins, then SOURCE_DATE_EPOCH; without
	// either, the newest input's mtime, so that the same inputs still
	// give the same package.
	var fixed time.Time
	if r.MTime.Set && s.str(r.MTime) != "" {
		if fixed, err = parseTime(s.str(r.MTime)); err != nil {
			return nil, errorf(r.MTime.Line, "mtime", "%v", err)
		}
	} else if v, ok := s.env("SOURCE_DATE_EPOCH"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return nil, &Error{Key: "SOURCE_DATE_EPOCH", Err: fmt.Errorf("%q is not a Unix time in seconds", v)}
		}
		fixed = time.Unix(n, 0)
	}

	umask := defaultUmask
	if o.Umask.Set {
		m, err := parseMode(o.Umask.Value)
		if err != nil {
			return nil, errorf(o.Umask.Line, "umask", "%v", err)
		}
		umask = m
	}
	cr := &contentsResolver{s: s, format: format, umask: umask}
	if r.DisableGlobbing.Set {
		b, err := strconv.ParseBool(strings.TrimSpace(r.DisableGlobbing.Value))
		if err != nil {
			return nil, errorf(r.DisableGlobbing.Line, "disable_globbing", "%q is not true or false", r.DisableGlobbing.Value)
		}
		cr.noGlob = b
	}
	prefix := s.contentsPrefix(format)
	for i := range o.Contents {
		if err := cr.add(prefix, i, &o.Contents[i]); err != nil {
			return nil, err
		}
	}
	if err := s.resolveScripts(format, p, &o, cr); err != nil {
		return nil, err
	}
	p.BuildTime = fixed
	if fixed.IsZero() {
		p.BuildTime = time.Unix(s.specMTime, 0)
		if cr.newestSrc.After(p.BuildTime) {
			p.BuildTime = cr.newestSrc
		}
	}
	p.BuildTime = p.BuildTime.Truncate(time.Second).UTC()
	if p.Contents, err = cr.finish(p.BuildTime); err != nil {
		return nil, err
	}

	if err := s.resolveFormat(format, p, &o); err != nil {
		return nil, err
	}
	return p, nil
}

// merged is the top-level overridable keys with overrides.<format> laid
// over them: a key set in the override replaces the top-level one whole,
// as in nfpm.
func (s *Spec) merged(format string) rawOverridables {
	o := s.raw.rawOverridables
	ov, ok := s.raw.Overrides[format]
	if !ok {
		return o
	}
	lists := []struct{ dst, src *list }{
		{&o.Depends, &ov.Depends}, {&o.Recommends, &ov.Recommends}, {&o.Suggests, &ov.Suggests},
		{&o.Conflicts, &ov.Conflicts}, {&o.Replaces, &ov.Replaces}, {&o.Provides, &ov.Provides},
		{&o.Deb.Breaks, &ov.Deb.Breaks}, {&o.Deb.PreDepends, &ov.Deb.PreDepends}, {&o.RPM.Prefixes, &ov.RPM.Prefixes},
	}
	for _, l := range lists {
		if l.src.Set {
			*l.dst = *l.src
		}
	}
	if ov.Contents != nil {
		o.Contents = ov.Contents
	}
	scalars := []struct{ dst, src *scalar }{
		{&o.Scripts.PreInstall, &ov.Scripts.PreInstall}, {&o.Scripts.PostInstall, &ov.Scripts.PostInstall},
		{&o.Scripts.PreRemove, &ov.Scripts.PreRemove}, {&o.Scripts.PostRemove, &ov.Scripts.PostRemove},
		{&o.Umask, &ov.Umask},
		{&o.Deb.Arch, &ov.Deb.Arch}, {&o.Deb.Compression, &ov.Deb.Compression},
		{&o.Deb.Scripts.Templates, &ov.Deb.Scripts.Templates}, {&o.Deb.Scripts.Config, &ov.Deb.Scripts.Config},
		{&o.Deb.Signature.KeyFile, &ov.Deb.Signature.KeyFile},
		{&o.RPM.Arch, &ov.RPM.Arch}, {&o.RPM.Summary, &ov.RPM.Summary}, {&o.RPM.Group, &ov.RPM.Group},
		{&o.RPM.Packager, &ov.RPM.Packager}, {&o.RPM.BuildHost, &ov.RPM.BuildHost}, {&o.RPM.Compression, &ov.RPM.Compression},
		{&o.RPM.Scripts.PreTrans, &ov.RPM.Scripts.PreTrans}, {&o.RPM.Scripts.PostTrans, &ov.RPM.Scripts.PostTrans},
		{&o.RPM.Scripts.Verify, &ov.RPM.Scripts.Verify}, {&o.RPM.Signature.KeyFile, &ov.RPM.Signature.KeyFile},
		{&o.APK.Arch, &ov.APK.Arch}, {&o.APK.Scripts.PreUpgrade, &ov.APK.Scripts.PreUpgrade},
		{&o.APK.Scripts.PostUpgrade, &ov.APK.Scripts.PostUpgrade},
		{&o.APK.Signature.KeyFile, &ov.APK.Signature.KeyFile}, {&o.APK.Signature.KeyName, &ov.APK.Signature.KeyName},
		{&o.ArchLinux.Arch, &ov.ArchLinux.Arch}, {&o.ArchLinux.Pkgbase, &ov.ArchLinux.Pkgbase},
		{&o.ArchLinux.Packager, &ov.ArchLinux.Packager},
		{&o.ArchLinux.Scripts.PreUpgrade, &ov.ArchLinux.Scripts.PreUpgrade},
		{&o.ArchLinux.Scripts.PostUpgrade, &ov.ArchLinux.Scripts.PostUpgrade},
	}
	for _, sc := range scalars {
		if sc.src.Set {
			*sc.dst = *sc.src
		}
	}
	if ov.Deb.Fields.Keys != nil {
		o.Deb.Fields = ov.Deb.Fields
	}
	if ov.RPM.Interpreters.Keys != nil {
		o.RPM.Interpreters = ov.RPM.Interpreters
	}
	t, ot := &o.Deb.Triggers, &ov.Deb.Triggers
	for _, l := range []struct{ dst, src *list }{
		{&t.Interest, &ot.Interest}, {&t.InterestAwait, &ot.InterestAwait}, {&t.InterestNoAwait, &ot.InterestNoAwait},
		{&t.Activate, &ot.Activate}, {&t.ActivateAwait, &ot.ActivateAwait}, {&t.ActivateNoAwait, &ot.ActivateNoAwait},
	} {
		if l.src.Set {
			*l.dst = *l.src
		}
	}
	return o
}

// contentsPrefix names where the format's contents list came from.
func (s *Spec) contentsPrefix(format string) string {
	if ov, ok := s.raw.Overrides[format]; ok && ov.Contents != nil {
		return "overrides." + format + "."
	}
	return ""
}

func (s *Spec) resolveArch(format, arch string, o *rawOverridables) (string, error) {
	if arch == "" {
		var verbatim scalar
		switch format {
		case FormatDeb:
			verbatim = o.Deb.Arch
		case FormatRPM:
			verbatim = o.RPM.Arch
		case FormatAPK:
			verbatim = o.APK.Arch
		case FormatArchLinux:
			verbatim = o.ArchLinux.Arch
		}
		if v := s.str(verbatim); v != "" {
			return v, nil
		}
		arch = s.Arch()
		if arch == "" {
			return "", errorf(s.raw.Arch.Line, "arch", "required: amd64, arm64, … or all (or pass --arch)")
		}
		name, err := FormatArch(format, arch)
		if err != nil {
			return "", errorf(s.raw.Arch.Line, "arch", "%v", err)
		}
		return name, nil
	}
	name, err := FormatArch(format, arch)
	if err != nil {
		return "", &Error{Key: "--arch", Err: err}
	}
	return name, nil
}

func (s *Spec) resolveVersion(format string, p *Package) error {
	r := &s.raw
	v := s.str(r.Version)
	if v == "" {
		hint := ""
		if strings.Contains(r.Version.Value, "$") {
			hint = fmt.Sprintf(" (%s expanded to nothing)", r.Version.Value)
		}
		return errorf(r.Version.Line, "version", "required%s", hint)
	}
	schema := s.str(r.VersionSchema)
	switch schema {
	case "", "semver":
		if core, pre, meta, ok := parseSemver(v); ok {
			p.Version, p.Prerelease, p.VersionMetadata = core, pre, meta
		} else {
			p.Version = v
		}
	case "none":
		p.Version = v
	default:
		return errorf(r.VersionSchema.Line, "version_schema", "%q is not semver or none", schema)
	}
	if v := s.str(r.Prerelease); v != "" {
		p.Prerelease = v
	}
	if v := s.str(r.VersionMetadata); v != "" {
		p.VersionMetadata = v
	}
	p.Epoch = s.str(r.Epoch)
	p.Release = s.str(r.Release)
	if _, err := FullVersion(format, p); err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			line := map[string]int{
				"version": r.Version.Line, "release": r.Release.Line, "prerelease": r.Prerelease.Line,
				"epoch": r.Epoch.Line, "version_metadata": r.VersionMetadata.Line,
			}[ve.Field]
			if line == 0 {
				line = r.Version.Line // the part came out of version itself
			}
			return errorf(line, ve.Field, "%s", ve.Error())
		}
		return err
	}
	return nil
}

func (s *Spec) readScript(sc scalar, key string) (string, error) {
	name := s.str(sc)
	if name == "" {
		return "", nil
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.dir, p)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", errorf(sc.Line, key, "%v", describeStatError(name, err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScriptSize+1))
	if err != nil {
		return "", errorf(sc.Line, key, "%v", err)
	}
	if len(data) > maxScriptSize {
		return "", errorf(sc.Line, key, "%q is larger than %d bytes", name, maxScriptSize)
	}
	return string(data), nil
}

func (s *Spec) resolveScripts(format string, p *Package, o *rawOverridables, cr *contentsResolver) error {
	scripts := []struct {
		dst *string
		sc  scalar
		key string
		in  string // format it applies to; "" for all
	}{
		{&p.Scripts.PreInstall, o.Scripts.PreInstall, "scripts.preinstall", ""},
		{&p.Scripts.PostInstall, o.Scripts.PostInstall, "scripts.postinstall", ""},
		{&p.Scripts.PreRemove, o.Scripts.PreRemove, "scripts.preremove", ""},
		{&p.Scripts.PostRemove, o.Scripts.PostRemove, "scripts.postremove", ""},
		{&p.Scripts.PreUpgrade, o.APK.Scripts.PreUpgrade, "apk.scripts.preupgrade", FormatAPK},
		{&p.Scripts.PostUpgrade, o.APK.Scripts.PostUpgrade, "apk.scripts.postupgrade", FormatAPK},
		{&p.Scripts.PreUpgrade, o.ArchLinux.Scripts.PreUpgrade, "archlinux.scripts.preupgrade", FormatArchLinux},
		{&p.Scripts.PostUpgrade, o.ArchLinux.Scripts.PostUpgrade, "archlinux.scripts.postupgrade", FormatArchLinux},
		{&p.Scripts.PreTrans, o.RPM.Scripts.PreTrans, "rpm.scripts.pretrans", FormatRPM},
		{&p.Scripts.PostTrans, o.RPM.Scripts.PostTrans, "rpm.scripts.posttrans", FormatRPM},
		{&p.Scripts.Verify, o.RPM.Scripts.Verify, "rpm.scripts.verify", FormatRPM},
		{&p.Scripts.Templates, o.Deb.Scripts.Templates, "deb.scripts.templates", FormatDeb},
		{&p.Scripts.Config, o.Deb.Scripts.Config, "deb.scripts.config", FormatDeb},
	}
	for _, sc := range scripts {
		if sc.in != "" && sc.in != format {
			continue
		}
		text, err := s.readScript(sc.sc, sc.key)
		if err != nil {
			return err
		}
		*sc.dst = text
	}
	return nil
}

func (s *Spec) resolveFormat(format string, p *Package, o *rawOverridables) error {
	var comp scalar
	switch format {
	case FormatDeb:
		comp = o.Deb.Compression
		p.Breaks = s.strs(o.Deb.Breaks)
		p.PreDepends = s.strs(o.Deb.PreDepends)
		for i, k := range o.Deb.Fields.Keys {
			name := strings.TrimSpace(k.Value)
			if !debFieldRE.MatchString(name) {
				return errorf(k.Line, "deb.fields", "%q is not a control field name", name)
			}
			if v := s.str(o.Deb.Fields.Values[i]); v != "" {
				p.Fields = append(p.Fields, Field{Name: name, Value: v})
			}
		}
		sort.Slice(p.Fields, func(i, j int) bool { return p.Fields[i].Name < p.Fields[j].Name })
		var trig strings.Builder
		t := &o.Deb.Triggers
		for _, d := range []struct {
			l    list
			verb string
		}{
			{t.Interest, "interest"}, {t.InterestAwait, "interest-await"}, {t.InterestNoAwait, "interest-noawait"},
			{t.Activate, "activate"}, {t.ActivateAwait, "activate-await"}, {t.ActivateNoAwait, "activate-noawait"},
		} {
			for _, name := range s.strs(d.l) {
				fmt.Fprintf(&trig, "%s %s\n", d.verb, name)
			}
		}
		p.Triggers = trig.String()
	case FormatRPM:
		comp = o.RPM.Compression
		if v := s.str(o.RPM.Summary); v != "" {
			p.Summary = v
		}
		if v := s.str(o.RPM.Group); v != "" {
			p.Section = v
		}
		p.Packager = s.str(o.RPM.Packager)
		p.BuildHost = s.str(o.RPM.BuildHost)
		p.Prefixes = s.strs(o.RPM.Prefixes)
		if err := s.resolveKeyFile(o.RPM.Signature.KeyFile, "rpm.signature.key_file", p); err != nil {
			return err
		}
		for i, k := range o.RPM.Interpreters.Keys {
			if p.Scripts.Interpreters == nil {
				p.Scripts.Interpreters = map[string]string{}
			}
			p.Scripts.Interpreters[strings.TrimSpace(k.Value)] = s.str(o.RPM.Interpreters.Values[i])
		}
	case FormatAPK:
		p.SigningKeyName = s.str(o.APK.Signature.KeyName)
		if err := s.resolveKeyFile(o.APK.Signature.KeyFile, "apk.signature.key_file", p); err != nil {
			return err
		}
		if p.SigningKeyName == "" {
			p.SigningKeyName = defaultKeyName(p.Maintainer)
		}
	case FormatArchLinux:
		p.Pkgbase = s.str(o.ArchLinux.Pkgbase)
		p.Packager = s.str(o.ArchLinux.Packager)
	}
	if p.Packager == "" {
		p.Packager = p.Maintainer
	}
	if p.Pkgbase == "" {
		p.Pkgbase = p.Name
	}
	if p.BuildHost == "" {
		p.BuildHost = "packhouse"
	}
	if comp.Set {
		algo, level, err := parseCompression(s.str(comp), compressions[format])
		if err != nil {
			return errorf(comp.Line, format+".compression", "%v", err)
		}
		p.Compression, p.CompressionLevel = algo, level
	}
	return nil
}

// resolveKeyFile sets p.SigningKeyFile from a signature.key_file key,
// checking that the file is there.
func (s *Spec) resolveKeyFile(sc scalar, key string, p *Package) error {
	kf := s.str(sc)
	if kf == "" {
		return nil
	}
	if !filepath.IsAbs(kf) {
		kf = filepath.Join(s.dir, kf)
	}
	if _, err := os.Stat(kf); err != nil {
		return errorf(sc.Line, key, "%v", describeStatError(s.str(sc), err))
	}
	p.SigningKeyFile = kf
	return nil
}

var debFieldRE = lazyre.New(`^[!-9;-~][!-9;-~]*$`)

// parseCompression reads "algo" or "algo:level".
func parseCompression(v string, allowed []string) (string, int, error) {
	algo, lv, hasLevel := strings.Cut(v, ":")
	algo = strings.ToLower(strings.TrimSpace(algo))
	ok := false
	for _, a := range allowed {
		ok = ok || a == algo
	}
	if !ok {
		return "", 0, fmt.Errorf("%q is not one of %s", algo, strings.Join(allowed, ", "))
	}
	level := 0
	if hasLevel {
		n, err := strconv.Atoi(strings.TrimSpace(lv))
		if err != nil {
			return "", 0, fmt.Errorf("level %q is not a number", lv)
		}
		level = n
	}
	return algo, level, nil
}

// defaultKeyName is nfpm's default apk key name: the maintainer's email
// address with .rsa.pub appended.
func defaultKeyName(maintainer string) string {
	if a, err := mail.ParseAddress(maintainer); err == nil && a.Address != "" {
		return a.Address + ".rsa.pub"
	}
	return "packhouse.rsa.pub"
}

// splitDescription splits a description into its first line and the rest,
// with the rest's common indentation removed.
func splitDescription(desc string) (summary, rest string) {
	desc = strings.Trim(desc, "\n")
	first, more, _ := strings.Cut(desc, "\n")
	lines := strings.Split(strings.TrimRight(more, " \t\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		}
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	return strings.TrimSpace(first), strings.Trim(strings.Join(lines, "\n"), "\n")
}
