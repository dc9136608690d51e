package apk

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/packhouse/packhouse/internal/compression"
	"github.com/packhouse/packhouse/internal/pkgtar"
	"github.com/packhouse/packhouse/internal/spec"
)

// ChecksumRecord is the PAX record abuild-tar adds to each file and
// symlink of the data section: the SHA-1 of its contents (of its target,
// for a symlink), hex.
const ChecksumRecord = "APK-TOOLS.checksum.SHA1"

// WriteOptions tune Write.
type WriteOptions struct {
	// TempDir holds the data section while datahash is computed.
	TempDir string
	// Key signs the package; nil writes an unsigned package, which apk
	// installs only with --allow-untrusted.
	Key *rsa.PrivateKey
	// KeyName is the public key's file name in /etc/apk/keys, which the
	// signature is stored under: "builder@example.com-5f1e3c2a.rsa.pub".
	KeyName string
	// SHA1 signs with .SIGN.RSA (SHA-1) for apk-tools older than 2.12;
	// the default is .SIGN.RSA256.
	SHA1 bool
}

// Write writes p as an apk to w. The data section is compressed to a
// temporary file first, hashing it, because .PKGINFO, which comes before
// it, records that hash.
func Write(ctx context.Context, w io.Writer, p *spec.Package, opts WriteOptions) error {
	version, err := spec.FullVersion(spec.FormatAPK, p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(opts.TempDir, "packhouse-apk-data-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	dataHash := sha256.New()
	if err := writeData(ctx, io.MultiWriter(tmp, dataHash), p); err != nil {
		return err
	}
	control, err := controlSegment(p, version, hex.EncodeToString(dataHash.Sum(nil)))
	if err != nil {
		return err
	}
	if opts.Key != nil {
		sig, err := signatureSegment(control, p, opts)
		if err != nil {
			return err
		}
		if _, err := w.Write(sig); err != nil {
			return err
		}
	}
	if _, err := w.Write(control); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(w, tmp)
	return err
}

// FileName is nfpm's apk naming, name_version_arch.apk, which keeps the
// architectures of one build apart in one directory (Alpine's own
// name-version.apk relies on a directory per architecture).
func FileName(p *spec.Package) (string, error) {
	v, err := spec.FullVersion(spec.FormatAPK, p)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s_%s_%s.apk", p.Name, v, p.Arch), nil
}

func writeData(ctx context.Context, w io.Writer, p *spec.Package) error {
	// gzip's default level, not abuild's -9, which took four times as
	// long in BenchmarkBuild for output no smaller.
	gz, err := compression.NewWriter(w, compression.Gzip, p.CompressionLevel)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	pw := pkgtar.NewWriter(tw, "", tar.FormatPAX)
	h := sha1.New()
	for i := range p.Contents {
		c := &p.Contents[i]
		if !pkgtar.InPayload(c) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var pax map[string]string
		switch {
		case pkgtar.IsFile(c):
			// The checksum goes in the header, before the body: a first
			// pass over the file computes it.
			h.Reset()
			if err := pkgtar.HashFile(ctx, c, pw.Buffer(), h); err != nil {
				return err
			}
			pax = map[string]string{ChecksumRecord: hex.EncodeToString(h.Sum(nil))}
		case c.Type == spec.TypeSymlink:
			sum := sha1.Sum([]byte(c.Target))
			pax = map[string]string{ChecksumRecord: hex.EncodeToString(sum[:])}
		}
		if err := pw.Write(ctx, c, pax); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// segment gzips tar entries without the end-of-archive blocks, so that the
// next stream continues the same archive.
func segment(entries []segmentEntry, p *spec.Package) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := compression.NewWriter(&buf, compression.Gzip, 9)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: e.mode, Size: int64(len(e.body)),
			Uname: "root", Gname: "root", ModTime: p.BuildTime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Flush(); err != nil { // Flush pads the last entry; Close would add the trailer
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type segmentEntry struct {
	name string
	mode int64
	body []byte
}

func controlSegment(p *spec.Package, version, datahash string) ([]byte, error) {
	entries := []segmentEntry{{".PKGINFO", 0o644, pkginfo(p, version, datahash)}}
	for _, s := range []struct{ name, body string }{
		{".pre-install", p.Scripts.PreInstall}, {".post-install", p.Scripts.PostInstall},
		{".pre-upgrade", p.Scripts.PreUpgrade}, {".post-upgrade", p.Scripts.PostUpgrade},
		{".pre-deinstall", p.Scripts.PreRemove}, {".post-deinstall", p.Scripts.PostRemove},
	} {
		if s.body != "" {
			entries = append(entries, segmentEntry{s.name, 0o755, []byte(s.body)})
		}
	}
	return segment(entries, p)
}

func pkginfo(p *spec.Package, version, datahash string) []byte {
	var b bytes.Buffer
	kv := func(k, v string) {
		if v = strings.Join(strings.Fields(v), " "); v != "" {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	b.WriteString("# Generated by packhouse\n")
	kv("pkgname", p.Name)
	kv("pkgver", version)
	kv("pkgdesc", p.Summary)
	kv("url", p.Homepage)
	kv("builddate", fmt.Sprint(p.BuildTime.Unix()))
	kv("packager", p.Packager)
	kv("size", fmt.Sprint(pkgtar.InstalledSize(p)))
	kv("arch", p.Arch)
	kv("origin", p.Name)
	kv("maintainer", p.Maintainer)
	kv("license", p.License)
	for _, r := range p.Replaces {
		kv("replaces", r)
	}
	for _, pr := range p.Provides {
		kv("provides", pr)
	}
	for _, d := range p.Depends {
		kv("depend", d)
	}
	// apk has no conflicts field: a conflict is a negated dependency.
	for _, c := range p.Conflicts {
		kv("depend", "!"+strings.TrimPrefix(c, "!"))
	}
	kv("datahash", datahash)
	return b.Bytes()
}

func signatureSegment(control []byte, p *spec.Package, opts WriteOptions) ([]byte, error) {
	name := opts.KeyName
	if name == "" {
		name = p.SigningKeyName
	}
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("apk: signing key name %q is not a file name", name)
	}
	algo, hf, h := "RSA256", crypto.SHA256, hash.Hash(sha256.New())
	if opts.SHA1 {
		algo, hf, h = "RSA", crypto.SHA1, sha1.New()
	}
	h.Write(control)
	sig, err := rsa.SignPKCS1v15(rand.Reader, opts.Key, hf, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	return segment([]segmentEntry{{".SIGN." + algo + "." + name, 0o644, sig}}, p)
}

// ErrKey is returned for a key file that is not an RSA private key.
var ErrKey = errors.New("not an unencrypted PEM RSA private key")

// ParsePrivateKey reads a PEM RSA private key, PKCS#1 ("RSA PRIVATE KEY",
// what abuild-keygen and openssl genrsa write) or PKCS#8 ("PRIVATE KEY").
func ParsePrivateKey(pemData []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, ErrKey
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%w: the key is encrypted; decrypt it first (openssl rsa -in key -out key.plain)", ErrKey)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: the key is %T", ErrKey, k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("%w: found a %q block", ErrKey, block.Type)
}
