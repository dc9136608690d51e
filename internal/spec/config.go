package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// The types below mirror nfpm.yaml key for key. Every leaf is a scalar or
// a list of scalars that remembers its line, so that a problem found long
// after parsing (a missing file, a version deb cannot hold) still names
// where it came from. Keys that nfpm knows and packhouse ignores are kept
// here too, so that they are recognised rather than reported as misspelt;
// unsupported.go says what happens to each of them.

// scalar is one YAML value, kept as written: "1.10" stays "1.10" and
// "0644" stays "0644", which matters for versions and modes.
type scalar struct {
	Value string
	Line  int
	Set   bool
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return &Error{Line: n.Line, Err: fmt.Errorf("expected a single value, found %s", kindName(n))}
	}
	if n.Tag == "!!null" {
		*s = scalar{Line: n.Line}
		return nil
	}
	*s = scalar{Value: n.Value, Line: n.Line, Set: true}
	return nil
}

// list is a YAML sequence of scalars.
type list struct {
	Items []scalar
	Line  int
	Set   bool
}

func (l *list) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*l = list{Line: n.Line, Set: true}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return &Error{Line: n.Line, Err: fmt.Errorf("expected a list (one \"- item\" per line), found %s", kindName(n))}
	}
	out := list{Line: n.Line, Set: true}
	for _, c := range n.Content {
		var s scalar
		if err := s.UnmarshalYAML(c); err != nil {
			return err
		}
		out.Items = append(out.Items, s)
	}
	*l = out
	return nil
}

func (l list) values() []string {
	if len(l.Items) == 0 {
		return nil
	}
	out := make([]string, 0, len(l.Items))
	for _, s := range l.Items {
		out = append(out, s.Value)
	}
	return out
}

// fieldMap is a mapping of scalar values (deb.fields).
type fieldMap struct {
	Keys   []scalar
	Values []scalar
	Line   int
}

func (m *fieldMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &Error{Line: n.Line, Err: fmt.Errorf("expected a mapping of names to values, found %s", kindName(n))}
	}
	out := fieldMap{Line: n.Line}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var k, v scalar
		if err := k.UnmarshalYAML(n.Content[i]); err != nil {
			return err
		}
		if err := v.UnmarshalYAML(n.Content[i+1]); err != nil {
			return err
		}
		out.Keys = append(out.Keys, k)
		out.Values = append(out.Values, v)
	}
	*m = out
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

type rawConfig struct {
	Name            scalar                     `yaml:"name"`
	Arch            scalar                     `yaml:"arch"`
	Platform        scalar                     `yaml:"platform"`
	Version         scalar                     `yaml:"version"`
	VersionSchema   scalar                     `yaml:"version_schema"`
	Epoch           scalar                     `yaml:"epoch"`
	Release         scalar                     `yaml:"release"`
	Prerelease      scalar                     `yaml:"prerelease"`
	VersionMetadata scalar                     `yaml:"version_metadata"`
	Section         scalar                     `yaml:"section"`
	Priority        scalar                     `yaml:"priority"`
	Maintainer      scalar                     `yaml:"maintainer"`
	Description     scalar                     `yaml:"description"`
	Vendor          scalar                     `yaml:"vendor"`
	Homepage        scalar                     `yaml:"homepage"`
	License         scalar                     `yaml:"license"`
	MTime           scalar                     `yaml:"mtime"`
	Changelog       scalar                     `yaml:"changelog"`
	DisableGlobbing scalar                     `yaml:"disable_globbing"`
	rawOverridables `yaml:",inline"`           // depends, contents, scripts, …
	Overrides       map[string]rawOverridables `yaml:"overrides"`
	MSIX            rawIgnored                 `yaml:"msix"`
}

// rawOverridables are the keys that overrides.<format> may replace; the
// same keys at the top level are the defaults.
type rawOverridables struct {
	Depends    list         `yaml:"depends"`
	Recommends list         `yaml:"recommends"`
	Suggests   list         `yaml:"suggests"`
	Conflicts  list         `yaml:"conflicts"`
	Replaces   list         `yaml:"replaces"`
	Provides   list         `yaml:"provides"`
	Contents   []rawContent `yaml:"contents"`
	Scripts    rawScripts   `yaml:"scripts"`
	Umask      scalar       `yaml:"umask"`
	RPM        rawRPM       `yaml:"rpm"`
	Deb        rawDeb       `yaml:"deb"`
	APK        rawAPK       `yaml:"apk"`
	ArchLinux  rawArchLinux `yaml:"archlinux"`
	IPK        rawIgnored   `yaml:"ipk"`
}

type rawContent struct {
	Source        scalar      `yaml:"src"`
	Destination   scalar      `yaml:"dst"`
	Type          scalar      `yaml:"type"`
	Packager      scalar      `yaml:"packager"`
	Expand        scalar      `yaml:"expand"`
	FileInfo      rawFileInfo `yaml:"file_info"`
	DisownSubtree list        `yaml:"disown_subtree"`
	Line          int         `yaml:"-"`
}

func (c *rawContent) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &Error{Line: n.Line, Err: fmt.Errorf("a contents entry must be a mapping with src and dst, found %s", kindName(n))}
	}
	type plain rawContent
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = rawContent(p)
	c.Line = n.Line
	return nil
}

type rawFileInfo struct {
	Mode  scalar `yaml:"mode"`
	Owner scalar `yaml:"owner"`
	Group scalar `yaml:"group"`
	MTime scalar `yaml:"mtime"`
	Lang  scalar `yaml:"lang"`
}

type rawScripts struct {
	PreInstall  scalar `yaml:"preinstall"`
	PostInstall scalar `yaml:"postinstall"`
	PreRemove   scalar `yaml:"preremove"`
	PostRemove  scalar `yaml:"postremove"`
}

type rawSignature struct {
	KeyFile scalar `yaml:"key_file"`
	KeyID   scalar `yaml:"key_id"`
	KeyName scalar `yaml:"key_name"`
	Method  scalar `yaml:"method"`
	Type    scalar `yaml:"type"`
	Signer  scalar `yaml:"signer"`
}

type rawRPM struct {
	Arch        scalar `yaml:"arch"`
	Summary     scalar `yaml:"summary"`
	Group       scalar `yaml:"group"`
	Packager    scalar `yaml:"packager"`
	BuildHost   scalar `yaml:"buildhost"`
	Compression scalar `yaml:"compression"`
	Prefixes    list   `yaml:"prefixes"`
	Scripts     struct {
		PreTrans  scalar `yaml:"pretrans"`
		PostTrans scalar `yaml:"posttrans"`
		Verify    scalar `yaml:"verify"`
	} `yaml:"scripts"`
	Interpreters fieldMap     `yaml:"interpreters"`
	Requires     rawIgnored   `yaml:"requires"`
	Signature    rawSignature `yaml:"signature"`
}

type rawDeb struct {
	Arch        scalar `yaml:"arch"`
	ArchVariant scalar `yaml:"arch_variant"`
	Scripts     struct {
		Rules     scalar `yaml:"rules"`
		Templates scalar `yaml:"templates"`
		Config    scalar `yaml:"config"`
	} `yaml:"scripts"`
	Triggers struct {
		Interest        list `yaml:"interest"`
		InterestAwait   list `yaml:"interest_await"`
		InterestNoAwait list `yaml:"interest_noawait"`
		Activate        list `yaml:"activate"`
		ActivateAwait   list `yaml:"activate_await"`
		ActivateNoAwait list `yaml:"activate_noawait"`
	} `yaml:"triggers"`
	Breaks      list         `yaml:"breaks"`
	Compression scalar       `yaml:"compression"`
	Signature   rawSignature `yaml:"signature"`
	Fields      fieldMap     `yaml:"fields"`
	PreDepends  list         `yaml:"predepends"`
}

type rawAPK struct {
	Arch    scalar `yaml:"arch"`
	Scripts struct {
		PreUpgrade  scalar `yaml:"preupgrade"`
		PostUpgrade scalar `yaml:"postupgrade"`
	} `yaml:"scripts"`
	Signature rawSignature `yaml:"signature"`
}

type rawArchLinux struct {
	Arch     scalar `yaml:"arch"`
	Pkgbase  scalar `yaml:"pkgbase"`
	Packager scalar `yaml:"packager"`
	Scripts  struct {
		PreUpgrade  scalar `yaml:"preupgrade"`
		PostUpgrade scalar `yaml:"postupgrade"`
	} `yaml:"scripts"`
}

// rawIgnored accepts any value: sections for formats packhouse does not
// build (ipk, msix) and rpm's qualified requires.
type rawIgnored struct {
	Line int
	Set  bool
}

func (r *rawIgnored) UnmarshalYAML(n *yaml.Node) error {
	*r = rawIgnored{Line: n.Line, Set: true}
	return nil
}

// yamlKey returns the key a struct field is spelt as in YAML, and whether
// it is an inline struct.
func yamlKey(tag string) (name string, inline bool) {
	name, opts, _ := strings.Cut(tag, ",")
	return name, strings.Contains(opts, "inline")
}
