package rpm

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/packhouse/packhouse/internal/spec"
)

// WriteOptions are the choices Write leaves to its caller.
type WriteOptions struct {
	// Signer signs the header (rpm 4.16+ checks header-only signatures).
	// Nil writes an unsigned package, which still carries SHA-1 and
	// SHA-256 header digests and a SHA-256 payload digest. The entity's
	// private key must be decrypted. RSA and EdDSA keys give reproducible
	// signatures; (EC)DSA signatures are randomised by nature.
	Signer *openpgp.Entity
	// Compression of the payload: "gzip" (the default), "xz", "zstd" or
	// "none". Empty uses the package's own Compression, then gzip.
	Compression string
	// Level is the compressor's level (gzip and xz 1-9, zstd 1-22); 0 uses
	// the package's CompressionLevel, then the compressor's default (gzip
	// 6, xz 2, zstd 3). xz 1 and 2 compress on two cores with a 1 MiB
	// dictionary; from 3 up, one encoder uses xz's dictionary for the
	// level and needs about nine times it in memory, over 64 MiB above 4.
	Level int
	// TempDir holds the compressed payload between the two passes; it
	// needs room for it. Empty means os.TempDir().
	TempDir string
}

// The header fields that would otherwise record the building machine are
// fixed, so that the same inputs give the same bytes anywhere.
const (
	buildHost = "packhouse" // unless the spec names one
	// rpmVersion is the rpm release whose format this writer follows
	// (payload digests, header-only signatures), not a program version.
	rpmVersion = "4.16.0"
)

// Write writes p as a binary rpm to w.
//
// It reads every source file once. The headers in front of the payload
// carry its digests, so they are written after it: when w is a file it
// can seek in (an io.WriterAt and io.Seeker), the payload is written in
// place behind room left for them, and the headers then fill that room;
// otherwise the compressed payload goes to a temporary file in
// opts.TempDir first, and is copied to w after the lead, the signature
// header and the header. Memory use does not depend on file sizes; it
// grows with the number of files only (their header entries). The same p
// (including BuildTime) and options give the same bytes either way. An
// error while writing leaves a partial package in w.
func Write(ctx context.Context, w io.Writer, p *spec.Package, opts WriteOptions) error {
	if p == nil {
		return fmt.Errorf("%w: nil package", ErrInvalid)
	}
	compName, level := opts.Compression, opts.Level
	if compName == "" {
		compName = p.Compression
	}
	if level == 0 {
		level = p.CompressionLevel
	}
	comp, err := resolveCompression(compName, level)
	if err != nil {
		return err
	}
	pkg, err := resolve(p)
	if err != nil {
		return err
	}
	// The headers' sizes do not depend on what the payload turns out to
	// be: digests are fixed-length, and the signature header keeps a
	// reserved space that takes up what its sizes and signature leave.
	hdrSize, sigSize, err := pkg.headerSizes(comp)
	if err != nil {
		return err
	}
	front := int64(leadSize + sigSize + pad8(sigSize) + hdrSize)

	var (
		payloadOut io.Writer
		finish     func(head []byte, pl payload) error
	)
	if f, start, ok := seekable(w); ok {
		// The payload goes where it ends up; nothing is copied.
		payloadOut = io.NewOffsetWriter(f, start+front)
		finish = func(head []byte, pl payload) error {
			if _, err := f.WriteAt(head, start); err != nil {
				return fmt.Errorf("rpm: writing: %w", err)
			}
			if _, err := f.Seek(start+front+pl.size, io.SeekStart); err != nil {
				return fmt.Errorf("rpm: writing: %w", err)
			}
			return nil
		}
	} else {
		tmp, err := os.CreateTemp(opts.TempDir, "packhouse-rpm-*.payload")
		if err != nil {
			return fmt.Errorf("rpm: temporary payload file: %w", err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		payloadOut = tmp
		finish = func(head []byte, pl payload) error {
			if _, err := w.Write(head); err != nil {
				return fmt.Errorf("rpm: writing: %w", err)
			}
			if _, err := tmp.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("rpm: rewinding payload: %w", err)
			}
			n, err := io.Copy(w, tmp)
			if err != nil {
				return fmt.Errorf("rpm: writing payload: %w", err)
			}
			if n != pl.size {
				return fmt.Errorf("rpm: payload file is %d bytes, wrote %d", pl.size, n)
			}
			return nil
		}
	}

	pl, err := writePayload(ctx, payloadOut, pkg.files, comp)
	if err != nil {
		return err
	}
	hdr, err := pkg.header(pl, comp)
	if err != nil {
		return err
	}
	sig, err := signatureHeader(hdr, pl, opts.Signer, pkg.buildTime, sigSize)
	if err != nil {
		return err
	}
	if len(hdr) != hdrSize {
		return fmt.Errorf("rpm: header is %d bytes, %d were planned", len(hdr), hdrSize)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	head := pkg.lead()
	head = append(head, sig...)
	head = append(head, make([]byte, pad8(len(sig)))...)
	head = append(head, hdr...)
	return finish(head, pl)
}

// seekable returns w as a file Write can place the payload in, and the
// offset the package starts at.
func seekable(w io.Writer) (writerAtSeeker, int64, bool) {
	f, ok := w.(writerAtSeeker)
	if !ok {
		return nil, 0, false
	}
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, false // a pipe or a terminal
	}
	// A file opened for appending can seek but not write at an offset.
	if _, err := f.WriteAt(nil, start); err != nil {
		return nil, 0, false
	}
	return f, start, true
}

type writerAtSeeker interface {
	io.WriterAt
	io.Seeker
}

// pad8 is the padding after a signature header of n bytes: rpm reads the
// main header at the next multiple of 8.
func pad8(n int) int { return (8 - n%8) % 8 }

// headerSizes returns the sizes the main header and the signature header
// will have, before the payload is written.
func (k *pkg) headerSizes(comp compression) (hdrSize, sigSize int, err error) {
	// Placeholders of the real values' lengths: every digest is a
	// fixed-length hex string.
	zero := new([sha256.Size]byte)
	for i := range k.files {
		if hasContent(k.files[i].Type) {
			k.files[i].digest = zero
		}
	}
	pl := plannedPayload(k.files)
	pl.digest = hex.EncodeToString(zero[:])
	pl.digestAlt = pl.digest
	hdr, err := k.header(pl, comp)
	if err != nil {
		return 0, 0, err
	}
	// The largest the signature header's own fields get (64-bit sizes),
	// and room for a signature, as rpmbuild leaves.
	pl.size, pl.archiveSize = math.MaxUint32, math.MaxUint32
	s, err := signatureEntries(hdr, pl).Marshal(tagHeaderSignatures)
	if err != nil {
		return 0, 0, err
	}
	return len(hdr), len(s) + 16 + sigReserve, nil
}

// sigReserve is the room the signature header leaves for signatures:
// rpmbuild's 4 KiB, which lets rpmsign sign the package in place, and
// lets Write make the signature after the payload without moving it.
const sigReserve = 4096

// hasContent reports whether a file of type t has bytes in the payload.
func hasContent(t spec.FileType) bool {
	return t != spec.TypeDir && t != spec.TypeSymlink && t != spec.TypeGhost
}

// pkg is a spec.Package checked and turned into rpm's terms.
type pkg struct {
	p                      *spec.Package
	name, version, release string
	epoch                  string
	arch, os               string
	buildTime              time.Time
	files                  []file
	hasConfig              bool
}

func resolve(p *spec.Package) (*pkg, error) {
	epoch, ver, rel, err := versionRelease(p)
	if err != nil {
		return nil, err
	}
	k := &pkg{
		p:         p,
		name:      p.Name,
		version:   ver,
		release:   rel,
		epoch:     epoch,
		arch:      Arch(p.Arch),
		os:        strings.ToLower(p.Platform),
		buildTime: p.BuildTime,
	}
	if k.os == "" {
		k.os = "linux"
	}
	if !validToken(k.name) || strings.ContainsAny(k.name, "/") {
		return nil, fmt.Errorf("%w: name %q", ErrInvalid, k.name)
	}
	if !validToken(k.arch) {
		return nil, fmt.Errorf("%w: architecture %q", ErrInvalid, k.arch)
	}

	k.files = make([]file, 0, len(p.Contents))
	for i := range p.Contents {
		c := &p.Contents[i]
		if c.Implicit {
			// rpm creates missing parent directories itself; listing
			// them would make this package own them.
			continue
		}
		f, err := resolveFile(c, k.buildTime)
		if err != nil {
			return nil, err
		}
		if f.Type == spec.TypeConfig || f.Type == spec.TypeConfigNoReplace {
			k.hasConfig = true
		}
		k.files = append(k.files, f)
	}
	// rpmbuild orders the file list by path, and rpm's lookups in it
	// (binary search first) expect that order.
	sort.SliceStable(k.files, func(i, j int) bool { return k.files[i].Destination < k.files[j].Destination })
	for i := 1; i < len(k.files); i++ {
		if k.files[i].Destination == k.files[i-1].Destination {
			return nil, fmt.Errorf("%w: %s is listed twice", ErrInvalid, k.files[i].Destination)
		}
	}
	return k, nil
}

func resolveFile(c *spec.Content, buildTime time.Time) (file, error) {
	f := file{Content: c, owner: c.Owner, group: c.Group, mtime: unixTime(c.MTime)}
	d := c.Destination
	if !path.IsAbs(d) || path.Clean(d) != d || d == "/" || strings.ContainsAny(d, "\x00\n") {
		return f, fmt.Errorf("%w: destination %q must be a clean absolute path below /", ErrInvalid, d)
	}
	if c.MTime.IsZero() {
		f.mtime = unixTime(buildTime)
	}
	if f.owner == "" {
		f.owner = "root"
	}
	if f.group == "" {
		f.group = "root"
	}
	f.mode = uint16(c.UnixMode())
	perm := f.mode & 0o7777
	switch c.Type {
	case spec.TypeFile, spec.TypeConfig, spec.TypeConfigNoReplace:
		if c.Source == "" {
			return f, fmt.Errorf("%w: %s has no source", ErrInvalid, d)
		}
		st, err := os.Stat(c.Source)
		if err != nil {
			return f, fmt.Errorf("rpm: %w", err)
		}
		if !st.Mode().IsRegular() {
			return f, fmt.Errorf("%w: source %s of %s is not a regular file", ErrInvalid, c.Source, d)
		}
		if perm == 0 {
			f.mode |= 0o644
		}
		f.size = st.Size()
	case spec.TypeDir:
		if perm == 0 {
			f.mode |= 0o755
		}
	case spec.TypeGhost:
		// Owned, not shipped: no content, no digest.
	case spec.TypeSymlink:
		if c.Target == "" {
			return f, fmt.Errorf("%w: symlink %s has no target", ErrInvalid, d)
		}
		f.mode = 0o120777
		f.size = int64(len(c.Target))
	default:
		return f, fmt.Errorf("%w: %s has unknown type %d", ErrInvalid, d, c.Type)
	}
	return f, nil
}

func unixTime(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	if s > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(s)
}

func (k *pkg) evr() string {
	evr := k.version + "-" + k.release
	if k.epoch != "" {
		evr = k.epoch + ":" + evr
	}
	return evr
}

// lead is the 96-byte struct rpmlead that opens every package. rpm 4 reads
// only its magic and version, but file(1) and old tools read the rest.
func (k *pkg) lead() []byte {
	b := make([]byte, leadSize)
	copy(b, []byte{0xed, 0xab, 0xee, 0xdb, 3, 0})
	binary.BigEndian.PutUint16(b[6:], 0) // binary package
	binary.BigEndian.PutUint16(b[8:], leadArchNum(k.arch))
	nvr := k.name + "-" + k.version + "-" + k.release
	copy(b[10:10+65], nvr)                // 66 bytes, NUL-terminated
	binary.BigEndian.PutUint16(b[76:], 1) // Linux
	binary.BigEndian.PutUint16(b[78:], 5) // RPMSIGTYPE_HEADERSIG
	return b
}

// scriptTags are the scriptlets rpm runs, with the key spec.Scripts'
// Interpreters uses for each.
var scriptTags = []struct {
	key   string
	body  func(*spec.Scripts) string
	tag   int32
	prog  int32
	sense int32
}{
	{"preinstall", func(s *spec.Scripts) string { return s.PreInstall }, tagPreIn, tagPreInProg, senseScriptPre},
	{"postinstall", func(s *spec.Scripts) string { return s.PostInstall }, tagPostIn, tagPostInProg, senseScriptPost},
	{"preremove", func(s *spec.Scripts) string { return s.PreRemove }, tagPreUn, tagPreUnProg, senseScriptPreUn},
	{"postremove", func(s *spec.Scripts) string { return s.PostRemove }, tagPostUn, tagPostUnProg, senseScriptPostUn},
	{"pretrans", func(s *spec.Scripts) string { return s.PreTrans }, tagPreTrans, tagPreTransProg, sensePreTrans},
	{"posttrans", func(s *spec.Scripts) string { return s.PostTrans }, tagPostTrans, tagPostTransProg, sensePostTrans},
	{"verify", func(s *spec.Scripts) string { return s.Verify }, tagVerifyScript, tagVerifyScriptProg, senseScriptVerify},
}

// interpreter is the command a scriptlet runs with: the spec's
// interpreter for it, else its #! line, else /bin/sh (rpm runs
// "interpreter script-file args"; "<lua>" is rpm's embedded Lua).
func interpreter(configured, body string) []string {
	if f := strings.Fields(configured); len(f) > 0 {
		return f
	}
	if strings.HasPrefix(body, "#!") {
		line, _, _ := strings.Cut(body[2:], "\n")
		if f := strings.Fields(line); len(f) > 0 {
			return f
		}
	}
	return []string{"/bin/sh"}
}

func rpmlib(feature, version string) dep {
	return dep{"rpmlib(" + feature + ")", senseRPMLib | senseLess | senseEqual, version}
}

// header builds the main header, which can be done only once the payload
// has been written: it carries the file digests and the payload digest.
func (k *pkg) header(pl payload, comp compression) ([]byte, error) {
	p := k.p
	h := newHeader()
	h.StringArray(tagHeaderI18NTable, []string{"C"})

	h.String(tagName, k.name)
	h.String(tagVersion, k.version)
	h.String(tagRelease, k.release)
	if k.epoch != "" {
		e, _ := strconv.ParseInt(k.epoch, 10, 32)
		h.Int32(tagEpoch, int32(e))
	}
	summary := p.Summary
	if summary == "" {
		summary = p.Name
	}
	description := p.Description
	if description == "" {
		description = summary
	}
	h.I18NString(tagSummary, summary)
	h.I18NString(tagDescription, description)
	h.Int32(tagBuildTime, int32(unixTime(k.buildTime)))
	host := p.BuildHost
	if host == "" {
		host = buildHost
	}
	h.String(tagBuildHost, host)
	if pl.installSize > math.MaxUint32 {
		h.Int64(tagLongSize, uint64(pl.installSize))
	} else {
		h.Int32(tagSize, int32(uint32(pl.installSize)))
	}
	packager := p.Packager
	if packager == "" {
		packager = p.Maintainer
	}
	for tag, v := range map[int32]string{tagVendor: p.Vendor, tagLicense: p.License, tagPackager: packager, tagURL: p.Homepage} {
		if v != "" {
			h.String(tag, v)
		}
	}
	if p.Section != "" {
		h.I18NString(tagGroup, p.Section)
	}
	if len(p.Prefixes) > 0 {
		h.StringArray(tagPrefixes, p.Prefixes)
	}
	h.String(tagOS, k.os)
	h.String(tagArch, k.arch)
	h.String(tagSourceRPM, k.name+"-"+k.version+"-"+k.release+".src.rpm")
	h.String(tagRPMVersion, rpmVersion)
	h.String(tagPayloadFormat, "cpio")
	if comp.name != "" {
		h.String(tagPayloadCompressor, comp.name)
	}
	h.String(tagPayloadFlags, comp.flags())
	h.StringArray(tagPayloadDigest, []string{pl.digest})
	h.Int32(tagPayloadDigestAlgo, pgpHashAlgoSHA256)
	h.StringArray(tagPayloadDigestAlt, []string{pl.digestAlt})

	var requires []dep
	for _, s := range scriptTags {
		body := s.body(&p.Scripts)
		if body == "" {
			continue
		}
		prog := interpreter(p.Scripts.Interpreters[s.key], body)
		h.String(s.tag, body)
		if len(prog) == 1 {
			h.String(s.prog, prog[0])
		} else {
			h.StringArray(s.prog, prog)
			requires = append(requires, rpmlib("ScriptletInterpreterArgs", "4.0.3-1"))
		}
		if prog[0] == "<lua>" {
			requires = append(requires, rpmlib("BuiltinLuaScripts", "4.2.2-1"))
		} else {
			requires = append(requires, dep{prog[0], senseInterp | s.sense, ""})
		}
	}

	k.putFiles(h, pl)

	evr := k.evr()
	user, err := parseDeps(p.Depends)
	if err != nil {
		return nil, err
	}
	requires = append(requires, user...)
	provides, err := parseDeps(p.Provides)
	if err != nil {
		return nil, err
	}
	provides = append(provides, dep{k.name, senseEqual, evr})
	if isa := isaName(k.arch); isa != "" {
		provides = append(provides, dep{k.name + "(" + isa + ")", senseEqual, evr})
	}
	if k.hasConfig {
		// rpmbuild ties config files to one version of their package, so
		// that two packages never share a config file unversioned.
		cfg := dep{"config(" + k.name + ")", senseConfig | senseEqual, evr}
		provides = append(provides, cfg)
		requires = append(requires, cfg)
	}
	conflicts, err := parseDeps(append(append([]string(nil), p.Conflicts...), p.Breaks...))
	if err != nil {
		return nil, err
	}
	obsoletes, err := parseDeps(p.Replaces)
	if err != nil {
		return nil, err
	}
	recommends, err := parseDeps(p.Recommends)
	if err != nil {
		return nil, err
	}
	suggests, err := parseDeps(p.Suggests)
	if err != nil {
		return nil, err
	}

	// The rpmlib() features a reader must have, as rpmbuild declares them.
	requires = append(requires, rpmlib("PayloadFilesHavePrefix", "4.0-1"))
	if len(k.files) > 0 {
		requires = append(requires,
			rpmlib("CompressedFileNames", "3.0.4-1"),
			rpmlib("FileDigests", "4.6.0-1"))
	}
	if comp.feature.name != "" {
		requires = append(requires, comp.feature)
	}
	if pl.largeFiles {
		requires = append(requires, rpmlib("LargeFiles", "4.12.0-1"))
	}
	all := [][]dep{requires, provides, conflicts, obsoletes, recommends, suggests}
	if anyDep(all, func(d dep) bool { return strings.Contains(d.version, "~") }) {
		requires = append(requires, rpmlib("TildeInVersions", "4.10.0-1"))
	}
	if anyDep(all, func(d dep) bool { return strings.Contains(d.version, "^") }) {
		requires = append(requires, rpmlib("CaretInVersions", "4.15.0-1"))
	}
	if anyDep(all, func(d dep) bool { return strings.HasPrefix(d.name, "(") }) {
		requires = append(requires, rpmlib("RichDependencies", "4.12.0-1"))
	}

	putDeps(h, sortDeps(requires), tagRequireName, tagRequireFlags, tagRequireVersion)
	putDeps(h, sortDeps(provides), tagProvideName, tagProvideFlags, tagProvideVersion)
	putDeps(h, sortDeps(conflicts), tagConflictName, tagConflictFlags, tagConflictVersion)
	putDeps(h, sortDeps(obsoletes), tagObsoleteName, tagObsoleteFlags, tagObsoleteVersion)
	putDeps(h, sortDeps(recommends), tagRecommendName, tagRecommendFlags, tagRecommendVersion)
	putDeps(h, sortDeps(suggests), tagSuggestName, tagSuggestFlags, tagSuggestVersion)

	if h.allUTF8 {
		h.String(tagEncoding, "utf-8")
	}
	return h.Marshal(tagHeaderImmutable)
}

func anyDep(lists [][]dep, f func(dep) bool) bool {
	for _, l := range lists {
		for _, d := range l {
			if f(d) {
				return true
			}
		}
	}
	return false
}

// putFiles stores the file list as rpm's parallel arrays, with names split
// into DIRNAMES/BASENAMES/DIRINDEXES (rpmlib(CompressedFileNames)).
func (k *pkg) putFiles(h *header, pl payload) {
	n := len(k.files)
	if n == 0 {
		return
	}
	var (
		baseNames  = make([]string, n)
		dirIndexes = make([]int32, n)
		dirNames   []string
		dirIndex   = make(map[string]int32)
		sizes      = make([]int64, n)
		modes      = make([]uint16, n)
		rdevs      = make([]uint16, n)
		mtimes     = make([]int32, n)
		digests    = make([]string, n)
		linkTos    = make([]string, n)
		flags      = make([]int32, n)
		users      = make([]string, n)
		groups     = make([]string, n)
		verify     = make([]int32, n)
		devices    = make([]int32, n)
		inodes     = make([]int32, n)
		langs      = make([]string, n)
	)
	for i, f := range k.files {
		dir, base := path.Split(f.Destination)
		di, ok := dirIndex[dir]
		if !ok {
			di = int32(len(dirNames))
			dirIndex[dir] = di
			dirNames = append(dirNames, dir)
		}
		baseNames[i], dirIndexes[i] = base, di
		sizes[i] = f.size
		modes[i] = f.mode
		mtimes[i] = int32(f.mtime)
		if f.digest != nil {
			digests[i] = hex.EncodeToString(f.digest[:])
		}
		if f.Type == spec.TypeSymlink {
			linkTos[i] = f.Target
		}
		switch f.Type {
		case spec.TypeConfig:
			flags[i] = fileConfig
		case spec.TypeConfigNoReplace:
			flags[i] = fileConfig | fileNoReplace
		case spec.TypeGhost:
			flags[i] = fileGhost
		}
		users[i], groups[i] = f.owner, f.group
		verify[i] = -1 // RPMVERIFY_ALL
		devices[i] = 1
		inodes[i] = int32(i + 1) // the cpio entries' inode numbers
	}
	h.StringArray(tagBaseNames, baseNames)
	h.StringArray(tagDirNames, dirNames)
	h.Int32(tagDirIndexes, dirIndexes...)
	if pl.largeFiles {
		us := make([]uint64, n)
		for i, s := range sizes {
			us[i] = uint64(s)
		}
		h.Int64(tagLongFileSizes, us...)
	} else {
		is := make([]int32, n)
		for i, s := range sizes {
			is[i] = int32(uint32(s))
		}
		h.Int32(tagFileSizes, is...)
	}
	h.Int16(tagFileModes, modes...)
	h.Int16(tagFileRdevs, rdevs...)
	h.Int32(tagFileMtimes, mtimes...)
	h.StringArray(tagFileDigests, digests)
	h.Int32(tagFileDigestAlgo, pgpHashAlgoSHA256)
	h.StringArray(tagFileLinkTos, linkTos)
	h.Int32(tagFileFlags, flags...)
	h.StringArray(tagFileUserName, users)
	h.StringArray(tagFileGroupName, groups)
	h.Int32(tagFileVerifyFlags, verify...)
	h.Int32(tagFileDevices, devices...)
	h.Int32(tagFileInodes, inodes...)
	h.StringArray(tagFileLangs, langs)
}

// signatureHeader builds the signature header for the main header hdr: its
// digests and signature, the sizes rpm checks the file against, and the
// reserved space that makes it size bytes long.
func signatureHeader(hdr []byte, pl payload, signer *openpgp.Entity, buildTime time.Time, size int) ([]byte, error) {
	s := signatureEntries(hdr, pl)
	if signer != nil {
		tag, sig, err := signHeader(hdr, signer, buildTime)
		if err != nil {
			return nil, err
		}
		s.Bin(tag, sig)
	}
	// The reserved space's data comes last (its tag is the highest, and
	// binary data is not aligned), so it adds its entry and its length.
	b, err := s.Marshal(tagHeaderSignatures)
	if err != nil {
		return nil, err
	}
	free := size - len(b) - 16
	if free < 0 {
		return nil, fmt.Errorf("rpm: signature of %d bytes leaves no room in the signature header", len(b))
	}
	s.Bin(sigReservedSpace, make([]byte, free))
	return s.Marshal(tagHeaderSignatures)
}

// signatureEntries is the signature header without signature or reserved
// space.
func signatureEntries(hdr []byte, pl payload) *header {
	s := newHeader()
	sum1 := sha1.Sum(hdr)
	sum256 := sha256.Sum256(hdr)
	s.String(sigSHA1, hex.EncodeToString(sum1[:]))
	s.String(sigSHA256, hex.EncodeToString(sum256[:]))
	total := int64(len(hdr)) + pl.size
	if total >= math.MaxUint32 || pl.archiveSize >= math.MaxUint32 {
		// rpm (build/pack.c) switches both to 64 bits together; an older
		// rpm then refuses the package instead of misreading it.
		s.Int64(sigLongSize, uint64(total))
		s.Int64(sigLongArchiveSize, uint64(pl.archiveSize))
	} else {
		s.Int32(sigSize, int32(uint32(total)))
		s.Int32(sigPayloadSize, int32(uint32(pl.archiveSize)))
	}
	return s
}
