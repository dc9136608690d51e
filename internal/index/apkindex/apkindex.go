package apkindex

import (
	"archive/tar"
	"bytes"
	"cmp"
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // for SignWith(crypto.SHA1)
	_ "crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ErrInvalidPackage is returned for a package that an APKINDEX cannot
// hold: apk would misread it, or read another package into it.
var ErrInvalidPackage = errors.New("apkindex: invalid package")

// Package is what APKINDEX says about one package file.
type Package struct {
	// Checksum is "Q1" + base64 of the SHA-1 of the package's control
	// segment (its second gzip member), the identity apk checks the
	// downloaded file against.
	Checksum      string
	Name          string
	Version       string
	Arch          string
	Description   string
	URL           string
	License       string
	Origin        string
	Maintainer    string
	Commit        string
	Size          int64 // of the package file
	InstalledSize int64
	BuildTime     int64 // Unix time
	Depends       []string
	Provides      []string
	InstallIf     []string
}

// WriteIndex writes the unsigned APKINDEX.tar.gz for pkgs to w and
// returns the APKINDEX text in it. The archive is what `apk index`
// writes (app_index.c): a DESCRIPTION entry holding description, left out
// when it is empty, then APKINDEX, then the end-of-archive blocks, in one
// gzip member. The packages are sorted and the archive's timestamps fixed,
// so the bytes depend on the packages only.
func WriteIndex(w io.Writer, pkgs []*Package, description string) ([]byte, error) {
	sorted := slices.Clone(pkgs)
	slices.SortFunc(sorted, func(a, b *Package) int {
		return cmp.Or(
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.Arch, b.Arch),
			cmp.Compare(a.Checksum, b.Checksum),
		)
	})
	var text []byte
	for _, p := range sorted {
		if err := Validate(p); err != nil {
			return nil, err
		}
		text = appendEntry(text, p)
	}

	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	if description != "" {
		if err := writeEntry(tw, "DESCRIPTION", []byte(description)); err != nil {
			return nil, err
		}
	}
	if err := writeEntry(tw, "APKINDEX", text); err != nil {
		return nil, err
	}
	// Unlike the signature's, this tar ends the archive: apk reads to the
	// end-of-archive blocks and then expects the end of the file
	// (apk_tar_parse in archive.c).
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return text, nil
}

// Build returns the signed APKINDEX.tar.gz for pkgs: WriteIndex's archive,
// signed with Sign.
func Build(pkgs []*Package, description string, key crypto.Signer, keyName string) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := WriteIndex(&buf, pkgs, description); err != nil {
		return nil, err
	}
	return Sign(buf.Bytes(), key, keyName)
}

// Sign signs an unsigned APKINDEX.tar.gz (WriteIndex's output) with an
// RSA PKCS #1 v1.5 signature over the SHA-256 of its bytes, and returns
// the signed index: the .SIGN.RSA256.<keyName>.rsa.pub segment followed by
// index. keyName is the name clients install the public key under in
// /etc/apk/keys, less its ".rsa.pub".
//
// SHA-256 rather than abuild-sign's default SHA-1: apk-tools 2.x has
// verified .SIGN.RSA256 signatures since 2017 (apk_sign_ctx_process_file
// in package.c; the date is from chainguard-dev/apko#1256), apk-tools 3
// does too (extract_v2.c), abuild-sign makes them with -t RSA256, and
// Wolfi's repositories have been signed so since 2025.
// Use SignWith and crypto.SHA1 only for clients older than that. Only one
// signature is written: apk verifies the first .SIGN file whose key it
// trusts, so a SHA-1 signature next to the SHA-256 one would let an
// attacker strip the stronger one (chainguard-dev/apko#1440 dropped dual
// signing for that reason).
func Sign(index []byte, key crypto.Signer, keyName string) ([]byte, error) {
	return SignWith(index, key, keyName, crypto.SHA256)
}

// SignWith is Sign with the digest chosen: crypto.SHA256 (".SIGN.RSA256.")
// or crypto.SHA1 (".SIGN.RSA.", abuild-sign's default).
func SignWith(index []byte, key crypto.Signer, keyName string, hash crypto.Hash) ([]byte, error) {
	var typ string
	switch hash {
	case crypto.SHA1:
		typ = "RSA"
	case crypto.SHA256:
		typ = "RSA256"
	default:
		return nil, fmt.Errorf("apkindex: apk verifies no %v signature", hash)
	}
	if key == nil {
		return nil, errors.New("apkindex: no signing key")
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("apkindex: apk verifies RSA signatures only, not %T", key.Public())
	}
	// apk opens the key by this name in its keys directory.
	if keyName == "" || strings.ContainsAny(keyName, "/\x00") {
		return nil, fmt.Errorf("apkindex: key name %q", keyName)
	}
	if len(index) < 2 || index[0] != 0x1f || index[1] != 0x8b {
		return nil, errors.New("apkindex: the index to sign is not gzip-compressed")
	}

	// What apk checks the signature against is the compressed stream that
	// follows the signature's gzip member, every byte of it to the end of
	// the file (apk_sign_ctx_mpart_cb hashes APK_MPART_DATA from that
	// boundary on), which is what abuild-sign signs with openssl dgst.
	h := hash.New()
	h.Write(index)
	// PKCS #1 v1.5 signing is deterministic; no randomness is used.
	sig, err := key.Sign(nil, h.Sum(nil), hash)
	if err != nil {
		return nil, fmt.Errorf("apkindex: signing: %w", err)
	}

	var seg bytes.Buffer
	// abuild-sign compresses the segment with gzip -9.
	zw, err := gzip.NewWriterLevel(&seg, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	if err := writeEntry(tw, ".SIGN."+typ+"."+keyName+".rsa.pub", sig); err != nil {
		return nil, err
	}
	// Flush pads the entry to its 512-byte block, and no Close: the
	// end-of-archive blocks would end apk's tar stream before the index
	// (abuild-sign cuts them with abuild-tar --cut).
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return append(seg.Bytes(), index...), nil
}

// epoch is the time of every archive entry; apk reads none of them, and a
// fixed one makes the index reproducible.
var epoch = time.Unix(0, 0)

// writeEntry writes a regular file as apk_tar_write_entry (archive.c)
// does: GNU tar magic, mode 0644, owned by root.
func writeEntry(tw *tar.Writer, name string, data []byte) error {
	err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o644,
		Uname: "root", Gname: "root", ModTime: epoch, Format: tar.FormatGNU,
	})
	if err != nil {
		return err
	}
	_, err = tw.Write(data)
	return err
}

// appendEntry appends p's APKINDEX record as apk_pkg_write_index_entry
// (package.c in apk-tools 2.x; the fields are listed in the Apk_spec page
// of the Alpine wiki) writes it: the fields in its order, the optional
// ones only when set, and a blank line to end the record.
func appendEntry(b []byte, p *Package) []byte {
	b = line(b, "C:", p.Checksum)
	b = line(b, "P:", p.Name)
	b = line(b, "V:", p.Version)
	if p.Arch != "" {
		b = line(b, "A:", p.Arch)
	}
	b = append(b, "S:"...)
	b = strconv.AppendInt(b, p.Size, 10)
	b = append(b, "\nI:"...)
	b = strconv.AppendInt(b, p.InstalledSize, 10)
	b = append(b, '\n')
	b = line(b, "T:", p.Description)
	b = line(b, "U:", p.URL)
	b = line(b, "L:", p.License)
	if p.Origin != "" {
		b = line(b, "o:", p.Origin)
	}
	if p.Maintainer != "" {
		b = line(b, "m:", p.Maintainer)
	}
	if p.BuildTime != 0 {
		b = append(b, "t:"...)
		b = strconv.AppendInt(b, p.BuildTime, 10)
		b = append(b, '\n')
	}
	if p.Commit != "" {
		b = line(b, "c:", p.Commit)
	}
	b = list(b, "D:", p.Depends)
	b = list(b, "p:", p.Provides)
	b = list(b, "i:", p.InstallIf)
	return append(b, '\n')
}

// line appends a field. apk reads the index a line at a time, so a line
// break inside a value would start a field of the value's choosing; they
// become spaces (.PKGINFO, where the values come from, has none).
func line(b []byte, field, value string) []byte {
	b = append(b, field...)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '\n' || c == '\r' {
			b = append(b, ' ')
		} else {
			b = append(b, c)
		}
	}
	return append(b, '\n')
}

func list(b []byte, field string, values []string) []byte {
	if len(values) == 0 {
		return b
	}
	b = append(b, field...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, v...)
	}
	return append(b, '\n')
}

// Validate rejects what apk would misread: a checksum it cannot decode
// (apk_blob_pull_csum), and names, versions and dependencies with white
// space, which separates dependencies on their line.
func Validate(p *Package) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s-%s: %s", ErrInvalidPackage, p.Name, p.Version, fmt.Sprintf(format, args...))
	}
	sum, ok := strings.CutPrefix(p.Checksum, "Q1")
	if !ok {
		return bad("checksum %q does not start with Q1", p.Checksum)
	}
	if raw, err := base64.StdEncoding.DecodeString(sum); err != nil || len(raw) != 20 {
		return bad("checksum %q is not Q1 and the base64 of a SHA-1", p.Checksum)
	}
	for _, f := range []struct{ name, value string }{{"name", p.Name}, {"version", p.Version}} {
		if f.value == "" || hasSpace(f.value) {
			return bad("%s %q", f.name, f.value)
		}
	}
	if hasSpace(p.Arch) {
		return bad("architecture %q", p.Arch)
	}
	for _, l := range [][]string{p.Depends, p.Provides, p.InstallIf} {
		for _, d := range l {
			if d == "" || hasSpace(d) {
				return bad("dependency %q", d)
			}
		}
	}
	if p.Size < 0 || p.InstalledSize < 0 || p.BuildTime < 0 {
		return bad("negative size or time")
	}
	return nil
}

func hasSpace(s string) bool {
	return strings.ContainsAny(s, " \t\n\v\f\r")
}
