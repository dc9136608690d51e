package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxSpecSize bounds the spec file: it is read whole, and a spec is a few
// kilobytes.
const maxSpecSize = 4 << 20

// Options tune Load and Parse.
type Options struct {
	// LookupEnv resolves ${VAR} in the spec; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// Log receives warnings about keys that are accepted but have no
	// effect. Nil discards them.
	Log *slog.Logger
}

// Spec is a parsed nfpm.yaml, not yet resolved for a format.
type Spec struct {
	file string // as given, for messages
	dir  string // sources and scripts are relative to it
	raw  rawConfig
	env  func(string) (string, bool)
	log  *slog.Logger
	// newest is the latest modification time among the spec's inputs,
	// the fallback for timestamps when neither SOURCE_DATE_EPOCH nor
	// mtime is given.
	specMTime int64
}

// Load reads and parses the spec at path. Sources and scripts named in it
// are relative to its directory.
func Load(path string, opts Options) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s, err := Parse(f, path, filepath.Dir(path), opts)
	if err != nil {
		return nil, err
	}
	s.specMTime = st.ModTime().Unix()
	return s, nil
}

// Parse reads a spec from r. name is used in messages; dir is where
// relative sources are found.
func Parse(r io.Reader, name, dir string, opts Options) (*Spec, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSpecSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSpecSize {
		return nil, &Error{File: name, Err: fmt.Errorf("larger than %d bytes", maxSpecSize)}
	}
	s := &Spec{file: name, dir: dir, env: opts.LookupEnv, log: opts.Log}
	if s.env == nil {
		s.env = os.LookupEnv
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, s.locate(&Error{Err: errors.New("the spec is empty")})
		}
		return nil, s.locate(yamlError(err))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, s.locate(&Error{Line: root.Line, Err: errors.New("the spec must be a mapping of keys to values")})
	}
	if err := checkKeys(root, reflect.TypeOf(rawConfig{}), ""); err != nil {
		return nil, s.locate(err)
	}
	if err := root.Decode(&s.raw); err != nil {
		return nil, s.locate(yamlError(err))
	}
	for _, k := range overrideKeys(root) {
		if _, ok := formatNames[k.Value]; !ok && k.Value != "ipk" {
			return nil, s.locate(errorf(k.Line, "overrides", "unknown format %q%s (formats: deb, rpm, apk, archlinux)", k.Value, suggest(k.Value, sortedKeys(formatNames))))
		}
	}
	s.warnIgnored()
	return s, nil
}

// locate fills in the file name of a spec error.
func (s *Spec) locate(err error) error {
	var e *Error
	if errors.As(err, &e) && e.File == "" {
		e.File = s.file
	}
	return err
}

// yamlError turns a yaml.v3 error into an Error when it carries a line.
func yamlError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0] // the first problem, with its line, is enough to act on
	}
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		_, rest, _ := strings.Cut(msg, ":")
		return &Error{Line: line, Err: errors.New(strings.TrimSpace(rest))}
	}
	return &Error{Err: errors.New(msg)}
}

// leafTypes decode themselves; checkKeys does not look inside them.
var leafTypes = map[reflect.Type]bool{
	reflect.TypeOf(scalar{}):     true,
	reflect.TypeOf(list{}):       true,
	reflect.TypeOf(fieldMap{}):   true,
	reflect.TypeOf(rawIgnored{}): true,
}

// checkKeys walks the document along the config types and rejects any key
// the types do not name, with its line and the nearest known key.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if leafTypes[t] {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return errorf(n.Line, path, "expected a mapping, found %s", kindName(n))
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // YAML merge key
				if err := checkKeys(v, t, path); err != nil {
					return err
				}
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				where := ""
				if path != "" {
					where = " in " + path
				}
				return errorf(k.Line, "", "unknown key %q%s%s", k.Value, where, suggest(k.Value, sortedKeys(fields)))
			}
			if err := checkKeys(v, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return errorf(n.Line, path, "expected a list, found %s", kindName(n))
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return errorf(n.Line, path, "expected a mapping, found %s", kindName(n))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, inline := yamlKey(f.Tag.Get("yaml"))
		switch {
		case inline:
			collectFields(f.Type, out)
		case name == "-" || name == "":
		default:
			out[name] = f.Type
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func overrideKeys(root *yaml.Node) []*yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "overrides" && root.Content[i+1].Kind == yaml.MappingNode {
			var keys []*yaml.Node
			m := root.Content[i+1]
			for j := 0; j+1 < len(m.Content); j += 2 {
				keys = append(keys, m.Content[j])
			}
			return keys
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest names the known key closest to a misspelt one, if any is close.
func suggest(got string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(got), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expand applies environment expansion the way nfpm does: ${VAR} and $VAR
// become the variable's value, empty when unset; $$ is a literal $.
func (s *Spec) expand(v string) string {
	if !strings.Contains(v, "$") {
		return v
	}
	return os.Expand(v, func(name string) string {
		if name == "$" {
			return "$"
		}
		val, _ := s.env(name)
		return val
	})
}

// str is the expanded value of a scalar.
func (s *Spec) str(sc scalar) string { return strings.TrimSpace(s.expand(sc.Value)) }

// strs is the expanded values of a list, without empty ones: nfpm drops
// entries that expand to nothing, which is how "${DEPENDS_X}" entries are
// made optional.
func (s *Spec) strs(l list) []string {
	var out []string
	for _, it := range l.Items {
		if v := s.str(it); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Name is the package name, expanded.
func (s *Spec) Name() string { return s.str(s.raw.Name) }

// Arch is the architecture the spec names (expanded), before any mapping.
func (s *Spec) Arch() string { return s.str(s.raw.Arch) }

// File is the path the spec was loaded from.
func (s *Spec) File() string { return s.file }
