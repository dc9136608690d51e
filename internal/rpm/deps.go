package rpm

import (
	"fmt"
	"sort"
	"strings"
)

// dep is one entry of a dependency list (requires, provides, …): the three
// parallel header arrays NAME, FLAGS, VERSION.
type dep struct {
	name    string
	flags   int32
	version string
}

var senseOps = map[string]int32{
	"<":  senseLess,
	"<<": senseLess,
	"<=": senseLess | senseEqual,
	"=":  senseEqual,
	"==": senseEqual,
	">=": senseGreater | senseEqual,
	">":  senseGreater,
	">>": senseGreater,
}

// parseDep reads the dependency forms spec files carry: "foo", "foo >= 1.2",
// "foo>=1.2", Debian's "foo (>= 1.2)" and "foo (>> 1.2)", rpm rich
// dependencies "(foo or bar)", and Debian alternatives "foo | bar >= 2",
// which become the rich dependency "(foo or bar >= 2)".
func parseDep(s string) (dep, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "(") {
		if !strings.HasSuffix(s, ")") {
			return dep{}, fmt.Errorf("%w: unbalanced rich dependency %q", ErrInvalid, s)
		}
		return dep{name: s}, nil
	}
	if strings.Contains(s, "|") {
		var alts []string
		for _, a := range strings.Split(s, "|") {
			d, err := parseDep(a)
			if err != nil {
				return dep{}, err
			}
			alts = append(alts, d.String())
		}
		return dep{name: "(" + strings.Join(alts, " or ") + ")"}, nil
	}
	i := nameEnd(s)
	if i == len(s) {
		if !validToken(s) {
			return dep{}, fmt.Errorf("%w: empty dependency", ErrInvalid)
		}
		return dep{name: s}, nil
	}
	d := dep{name: s[:i]}
	rest := strings.TrimSpace(s[i:])
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}
	j := 0
	for j < len(rest) && strings.IndexByte("<>=", rest[j]) >= 0 {
		j++
	}
	op, ver := rest[:j], strings.TrimSpace(rest[j:])
	flags, ok := senseOps[op]
	if !ok || !validToken(d.name) || !validToken(ver) {
		return dep{}, fmt.Errorf("%w: cannot parse dependency %q", ErrInvalid, s)
	}
	d.flags, d.version = flags, ver
	return d, nil
}

// nameEnd finds where the name in a dependency ends. Parentheses belong to
// the name ("perl(Foo::Bar)", "libc.so.6()(64bit)") unless they open a
// Debian-style version constraint: "(" followed by an operator.
func nameEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '<', '>', '=':
			return i
		case '(':
			if rest := strings.TrimLeft(s[i+1:], " \t"); rest != "" && strings.IndexByte("<>=", rest[0]) >= 0 {
				return i
			}
		}
	}
	return len(s)
}

// String formats d in rpm's own syntax, the one rich dependencies use.
func (d dep) String() string {
	if d.version == "" {
		return d.name
	}
	var op string
	switch d.flags & (senseLess | senseGreater | senseEqual) {
	case senseLess:
		op = "<"
	case senseLess | senseEqual:
		op = "<="
	case senseEqual:
		op = "="
	case senseGreater | senseEqual:
		op = ">="
	case senseGreater:
		op = ">"
	}
	return d.name + " " + op + " " + d.version
}

func parseDeps(ss []string) ([]dep, error) {
	ds := make([]dep, 0, len(ss))
	for _, s := range ss {
		if strings.TrimSpace(s) == "" {
			continue
		}
		d, err := parseDep(s)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// sortDeps orders a list the way rpmbuild does (by name, then version) and
// drops exact duplicates, so that the header does not depend on the order
// of the spec's lists.
func sortDeps(ds []dep) []dep {
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if a.version != b.version {
			return a.version < b.version
		}
		return a.flags < b.flags
	})
	out := ds[:0]
	for _, d := range ds {
		if len(out) > 0 && d == out[len(out)-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// putDeps stores a dependency list as its three parallel arrays; rpm omits
// empty lists rather than writing zero-length arrays.
func putDeps(h *header, ds []dep, nameTag, flagsTag, versionTag int32) {
	if len(ds) == 0 {
		return
	}
	names := make([]string, len(ds))
	flags := make([]int32, len(ds))
	versions := make([]string, len(ds))
	for i, d := range ds {
		names[i], flags[i], versions[i] = d.name, d.flags, d.version
	}
	h.StringArray(nameTag, names)
	h.Int32(flagsTag, flags...)
	h.StringArray(versionTag, versions)
}
