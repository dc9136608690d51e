package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultUmask is nfpm's: sources keep their mode, minus world-writable.
const defaultUmask fs.FileMode = 0o002

// entry is a Content with the spec key it came from, for messages.
type entry struct {
	Content
	key  string
	line int
	// explicitTime is set when file_info.mtime gave the time.
	explicitTime bool
}

// contentsResolver expands the contents list for one format.
type contentsResolver struct {
	s         *Spec
	format    string
	umask     fs.FileMode
	noGlob    bool
	entries   []*entry
	newestSrc time.Time // latest mtime among the sources read
}

var contentTypes = map[string]bool{
	"": true, "file": true, "config": true, "config|noreplace": true, "config|missingok": true,
	"config|tree": true, "config|noreplace|tree": true, "config|missingok|tree": true,
	"dir": true, "tree": true, "symlink": true, "ghost": true,
	"doc": true, "license": true, "licence": true, "readme": true,
}

func (r *contentsResolver) add(prefix string, i int, rc *rawContent) error {
	key := fmt.Sprintf("%scontents[%d]", prefix, i)
	s := r.s
	if rc.Packager.Set {
		pk := s.str(rc.Packager)
		if !formatNames[pk] && pk != "ipk" && pk != "" {
			return errorf(rc.Packager.Line, key+".packager", "unknown format %q%s", pk, suggest(pk, sortedKeys(formatNames)))
		}
		if pk != "" && pk != r.format {
			return nil
		}
	}
	typ := strings.ToLower(strings.TrimSpace(rc.Type.Value))
	if !contentTypes[typ] {
		return errorf(rc.Type.Line, key+".type", "unknown type %q (file, config, config|noreplace, dir, tree, symlink, ghost)%s", rc.Type.Value, suggest(typ, sortedKeys(contentTypes)))
	}
	expand := false
	if rc.Expand.Set {
		b, err := strconv.ParseBool(strings.TrimSpace(rc.Expand.Value))
		if err != nil {
			return errorf(rc.Expand.Line, key+".expand", "%q is not true or false", rc.Expand.Value)
		}
		expand = b
	}
	value := func(sc scalar) string {
		if expand {
			return s.str(sc)
		}
		return strings.TrimSpace(sc.Value)
	}
	src, dst := value(rc.Source), value(rc.Destination)
	line := rc.Line
	if rc.Destination.Line > 0 {
		line = rc.Destination.Line
	}
	if dst == "" {
		return errorf(line, key+".dst", "required: where the entry goes in the package")
	}
	cleanDst, err := cleanDestination(dst)
	if err != nil {
		return errorf(line, key+".dst", "%v", err)
	}
	dirLike := strings.HasSuffix(dst, "/")

	// file_info
	base := entry{key: key, line: line}
	base.Owner, base.Group = "root", "root"
	var mode fs.FileMode
	modeSet := false
	fi := rc.FileInfo
	if fi.Mode.Set {
		m, err := parseMode(fi.Mode.Value)
		if err != nil {
			return errorf(fi.Mode.Line, key+".file_info.mode", "%v", err)
		}
		mode, modeSet = m, true
	}
	if v := s.str(fi.Owner); v != "" {
		base.Owner = v
	}
	if v := s.str(fi.Group); v != "" {
		base.Group = v
	}
	if fi.MTime.Set {
		t, err := parseTime(s.str(fi.MTime))
		if err != nil {
			return errorf(fi.MTime.Line, key+".file_info.mtime", "%v", err)
		}
		base.MTime, base.explicitTime = t, true
	}
	srcKey, srcLine := key+".src", rc.Source.Line
	if srcLine == 0 {
		srcLine = line
	}

	switch typ {
	case "symlink":
		if src == "" {
			return errorf(srcLine, srcKey, "required: the target the link points to")
		}
		if cleanDst == "/" {
			return errorf(line, key+".dst", "a symlink cannot replace /")
		}
		e := base
		e.Type, e.Destination, e.Target, e.Mode = TypeSymlink, cleanDst, src, 0o777
		r.entries = append(r.entries, &e)
		return nil
	case "ghost":
		if r.format != FormatRPM {
			return nil
		}
		e := base
		e.Type, e.Destination, e.Mode = TypeGhost, cleanDst, 0o644
		if modeSet {
			e.Mode = mode
		}
		r.entries = append(r.entries, &e)
		return nil
	case "dir":
		e := base
		e.Type, e.Destination, e.Mode = TypeDir, cleanDst, 0o755
		if src != "" {
			st, err := os.Stat(r.sourcePath(src))
			if err != nil {
				return errorf(srcLine, srcKey, "%v", describeStatError(src, err))
			}
			if !st.IsDir() {
				return errorf(srcLine, srcKey, "%q is not a directory", src)
			}
			e.Mode = unixPerm(st.Mode()) &^ r.umask
			r.noteSource(st)
		}
		if modeSet {
			e.Mode = mode
		}
		r.entries = append(r.entries, &e)
		return nil
	}

	if src == "" {
		return errorf(line, srcKey, "required: the file on this machine to package")
	}
	fileType := TypeFile
	switch {
	case strings.HasPrefix(typ, "config|noreplace"):
		fileType = TypeConfigNoReplace
	case strings.HasPrefix(typ, "config"):
		fileType = TypeConfig
	}
	item := itemSpec{base: base, fileType: fileType, mode: mode, modeSet: modeSet, srcKey: srcKey, srcLine: srcLine}

	if strings.HasSuffix(typ, "tree") {
		abs := r.sourcePath(src)
		st, err := os.Stat(abs)
		if err != nil {
			return errorf(srcLine, srcKey, "%v", describeStatError(src, err))
		}
		if !st.IsDir() {
			return errorf(srcLine, srcKey, "%q is not a directory, and type %s copies one", src, typ)
		}
		return r.walk(abs, cleanDst, item, true)
	}

	if !r.noGlob && hasMeta(src) {
		matches, root, err := glob(r.sourcePath(src))
		if err != nil {
			return errorf(srcLine, srcKey, "%v", err)
		}
		if len(matches) == 0 {
			return errorf(srcLine, srcKey, "no file matches %q", src)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil {
				return errorf(srcLine, srcKey, "%v", err)
			}
			d := path.Join(cleanDst, filepath.ToSlash(rel))
			if err := r.addPath(m, d, item); err != nil {
				return err
			}
		}
		return nil
	}

	abs := r.sourcePath(src)
	if dirLike {
		st, err := os.Lstat(abs)
		if err == nil && !st.IsDir() {
			cleanDst = path.Join(cleanDst, filepath.Base(abs))
		}
	}
	return r.addPath(abs, cleanDst, item)
}

// itemSpec is what one contents entry says about every file it yields.
type itemSpec struct {
	base     entry
	fileType FileType
	mode     fs.FileMode
	modeSet  bool
	srcKey   string
	srcLine  int
}

// addPath adds a source path: a file, a symlink (kept as a link, as nfpm
// does) or a directory (its files, keeping the layout below it).
func (r *contentsResolver) addPath(abs, dst string, it itemSpec) error {
	st, err := os.Lstat(abs)
	if err != nil {
		return errorf(it.srcLine, it.srcKey, "%v", describeStatError(r.rel(abs), err))
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return r.addSymlink(abs, dst, st, it)
	case st.IsDir():
		return r.walk(abs, dst, it, false)
	case st.Mode().IsRegular():
		return r.addFile(abs, dst, st, it)
	}
	return errorf(it.srcLine, it.srcKey, "%q is not a regular file, directory or symlink", r.rel(abs))
}

func (r *contentsResolver) addFile(abs, dst string, st fs.FileInfo, it itemSpec) error {
	if dst == "/" {
		return errorf(it.base.line, it.base.key+".dst", "a file cannot replace /")
	}
	e := it.base
	e.Type, e.Source, e.Destination, e.Size = it.fileType, abs, dst, st.Size()
	e.Mode = unixPerm(st.Mode()) &^ r.umask
	if it.modeSet {
		e.Mode = it.mode
	}
	r.noteSource(st)
	r.entries = append(r.entries, &e)
	return nil
}

func (r *contentsResolver) addSymlink(abs, dst string, st fs.FileInfo, it itemSpec) error {
	target, err := os.Readlink(abs)
	if err != nil {
		return errorf(it.srcLine, it.srcKey, "%v", err)
	}
	e := it.base
	e.Type, e.Destination, e.Target, e.Mode = TypeSymlink, dst, target, 0o777
	r.noteSource(st)
	r.entries = append(r.entries, &e)
	return nil
}

// walk adds a directory's contents below dst. With ownDirs (type tree)
// the directories become owned entries; otherwise they are only implicit
// parents of the files.
func (r *contentsResolver) walk(root, dst string, it itemSpec, ownDirs bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errorf(it.srcLine, it.srcKey, "%v", describeStatError(r.rel(p), err))
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		st, err := d.Info()
		if err != nil {
			return errorf(it.srcLine, it.srcKey, "%v", err)
		}
		switch {
		case d.IsDir():
			if !ownDirs || target == "/" {
				return nil
			}
			e := it.base
			e.Type, e.Destination = TypeDir, target
			e.Mode = unixPerm(st.Mode()) &^ r.umask
			r.noteSource(st)
			r.entries = append(r.entries, &e)
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return r.addSymlink(p, target, st, it)
		case d.Type().IsRegular():
			return r.addFile(p, target, st, it)
		}
		return errorf(it.srcLine, it.srcKey, "%q is not a regular file, directory or symlink", r.rel(p))
	})
}

func (r *contentsResolver) noteSource(st fs.FileInfo) {
	if t := st.ModTime(); t.After(r.newestSrc) {
		r.newestSrc = t
	}
}

func (r *contentsResolver) sourcePath(src string) string {
	if filepath.IsAbs(src) {
		return filepath.Clean(src)
	}
	return filepath.Join(r.s.dir, src)
}

func (r *contentsResolver) rel(abs string) string {
	if rel, err := filepath.Rel(r.s.dir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return abs
}

// finish merges duplicates, adds implicit parents, sorts, and checks that
// the result can be installed: no two entries at one path, no file where a
// directory is needed, no symlink loop.
func (r *contentsResolver) finish(defaultTime time.Time) ([]Content, error) {
	byPath := map[string]*entry{}
	for _, e := range r.entries {
		if !e.explicitTime {
			e.MTime = defaultTime
		}
		e.MTime = e.MTime.Truncate(time.Second).UTC()
		prev, ok := byPath[e.Destination]
		if !ok {
			byPath[e.Destination] = e
			continue
		}
		if prev.Type == TypeDir && e.Type == TypeDir && prev.Mode == e.Mode && prev.Owner == e.Owner && prev.Group == e.Group {
			continue
		}
		return nil, errorf(e.line, e.key, "%s is already in the package, from %s (line %d)", e.Destination, prev.key, prev.line)
	}
	for _, e := range r.entries {
		for dir := path.Dir(e.Destination); dir != "/"; dir = path.Dir(dir) {
			if p, ok := byPath[dir]; ok {
				if p.Type != TypeDir {
					return nil, errorf(e.line, e.key, "%s needs %s to be a directory, but %s (line %d) makes it a %s", e.Destination, dir, p.key, p.line, typeName(p.Type))
				}
				continue
			}
			byPath[dir] = &entry{Content: Content{
				Type: TypeDir, Destination: dir, Mode: 0o755, Owner: "root", Group: "root",
				MTime: defaultTime.Truncate(time.Second).UTC(), Implicit: true,
			}, key: e.key, line: e.line}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if err := checkSymlinks(byPath); err != nil {
		return nil, err
	}
	out := make([]Content, 0, len(paths))
	for _, p := range paths {
		out = append(out, byPath[p].Content)
	}
	return out, nil
}

func typeName(t FileType) string {
	switch t {
	case TypeDir:
		return "directory"
	case TypeSymlink:
		return "symlink"
	case TypeGhost:
		return "ghost file"
	}
	return "file"
}

// checkSymlinks follows every symlink in the package, through other
// symlinks of the package, and fails on a loop. Targets outside the
// package are the installed system's business and are not followed.
func checkSymlinks(byPath map[string]*entry) error {
	for _, e := range byPath {
		if e.Type != TypeSymlink {
			continue
		}
		chain := []string{e.Destination}
		seen := map[string]bool{e.Destination: true}
		cur := e
		for {
			next := resolveLink(cur.Destination, cur.Target, byPath)
			if next == nil {
				break
			}
			if seen[next.Destination] {
				chain = append(chain, next.Destination)
				return errorf(e.line, e.key, "symlink loop: %s", strings.Join(chain, " -> "))
			}
			seen[next.Destination] = true
			chain = append(chain, next.Destination)
			cur = next
		}
	}
	return nil
}

// resolveLink returns the package symlink that link's target lands on
// (directly, or through a symlinked parent directory), or nil.
func resolveLink(link, target string, byPath map[string]*entry) *entry {
	t := target
	if !path.IsAbs(t) {
		t = path.Join(path.Dir(link), t)
	}
	t = path.Clean(t)
	for p := t; p != "/" && p != "."; p = path.Dir(p) {
		if e, ok := byPath[p]; ok && e.Type == TypeSymlink {
			return e
		}
	}
	return nil
}

// cleanDestination makes dst absolute and clean, refusing ".." outright:
// a spec that climbs out of a directory is almost certainly a mistake, and
// silently cleaning it would put the file somewhere else than written.
func cleanDestination(dst string) (string, error) {
	for _, part := range strings.Split(dst, "/") {
		if part == ".." {
			return "", fmt.Errorf("%q contains \"..\"; write the path it should have", dst)
		}
	}
	if strings.ContainsAny(dst, "\x00\n") {
		return "", fmt.Errorf("%q contains a NUL or newline", dst)
	}
	return path.Clean("/" + dst), nil
}

// parseMode reads an octal file mode, insisting on the leading 0 (or 0o)
// that makes it octal: "644" would be read as decimal 644 by YAML and
// nfpm alike, which is mode 1204, never what was meant.
func parseMode(v string) (fs.FileMode, error) {
	v = strings.TrimSpace(v)
	digits := ""
	switch {
	case strings.HasPrefix(v, "0o") || strings.HasPrefix(v, "0O"):
		digits = v[2:]
	case strings.HasPrefix(v, "0") && len(v) > 1:
		digits = v[1:]
	case v == "0":
		digits = "0"
	default:
		return 0, fmt.Errorf("%q is not an octal mode; write it with a leading 0, like 0%s", v, v)
	}
	n, err := strconv.ParseUint(digits, 8, 32)
	if err != nil || digits == "" {
		return 0, fmt.Errorf("%q is not an octal mode (digits 0-7 with a leading 0, like 0644)", v)
	}
	if n > 0o7777 {
		return 0, fmt.Errorf("%q is larger than 07777", v)
	}
	return modeFromUnix(uint32(n)), nil
}

func modeFromUnix(n uint32) fs.FileMode {
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

// unixPerm keeps the permission and special bits of a source's mode.
func unixPerm(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time like 2009-11-10T23:00:00Z", v)
}

func describeStatError(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q does not exist", name)
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("%q: symlink loop", name)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%q cannot be read: permission denied", name)
	}
	return err
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// glob matches a pattern with filepath.Match rules per component, plus
// "**" for any number of directories. It returns the matches, sorted, and
// the directory the pattern is rooted at (the part before the first
// wildcard), against which destinations are made relative.
func glob(pattern string) (matches []string, root string, err error) {
	pattern = filepath.Clean(pattern)
	parts := strings.Split(filepath.ToSlash(pattern), "/")
	i := 0
	for i < len(parts) && !hasMeta(parts[i]) {
		i++
	}
	root = filepath.FromSlash(strings.Join(parts[:i], "/"))
	if root == "" {
		root = "/"
	}
	rest := parts[i:]
	for _, p := range rest {
		if _, err := path.Match(p, ""); err != nil {
			return nil, "", fmt.Errorf("bad pattern %q: %v", pattern, err)
		}
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if matchParts(rest, strings.Split(filepath.ToSlash(rel), "/")) {
			matches = append(matches, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, root, nil
	}
	sort.Strings(matches)
	return matches, root, err
}

func matchParts(pattern, name []string) bool {
	if len(pattern) == 0 {
		return len(name) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchParts(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, _ := path.Match(pattern[0], name[0])
	return ok && matchParts(pattern[1:], name[1:])
}
