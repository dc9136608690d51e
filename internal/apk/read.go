package apk

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ErrInvalid is wrapped by every error about a malformed package.
var ErrInvalid = errors.New("invalid apk")

// ErrTooLarge means a package exceeds a Limit.
var ErrTooLarge = errors.New("apk exceeds a limit")

// Limits bound what Read accepts, since packages are untrusted input.
type Limits struct {
	MaxControl int64 // bytes of the signature and control sections, uncompressed
	MaxData    int64 // bytes of the data section, uncompressed
	MaxEntries int   // tar entries in the data section
}

// DefaultLimits suit packages up to a few GiB.
var DefaultLimits = Limits{MaxControl: 4 << 20, MaxData: 16 << 30, MaxEntries: 1 << 20}

// Package is what Read found in an apk.
type Package struct {
	// Signatures are the .SIGN.* entries: name and signature bytes.
	Signatures []Signature
	// Info is .PKGINFO's key/value lines, in order (keys repeat).
	Info []KeyValue
	// Scripts maps ".post-install" and the like to their contents.
	Scripts map[string][]byte
	// Files are the data section's entries.
	Files []File
	// ControlSegment is the compressed control stream, which signatures
	// cover and whose SHA-1 identifies the package in APKINDEX.
	ControlSegment []byte
	// DataHash is the SHA-256 of the compressed data stream, hex.
	DataHash string
	// ControlCut and SignatureCut report whether those tar segments end
	// without end-of-archive blocks, as the format requires.
	ControlCut, SignatureCut bool
}

// Signature is one .SIGN.<algorithm>.<key name> entry.
type Signature struct {
	Algorithm, KeyName string
	Value              []byte
}

// KeyValue is one .PKGINFO line.
type KeyValue struct{ Key, Value string }

// File is one entry of the data section.
type File struct {
	Name         string
	Type         byte // tar type flag
	Mode         int64
	Size         int64
	Linkname     string
	Uname, Gname string
	ModTime      time.Time
	// Checksum is the APK-TOOLS.checksum.SHA1 record; Read has checked
	// that it matches the contents.
	Checksum string
}

// Get returns the first value of a .PKGINFO key.
func (p *Package) Get(key string) string {
	for _, kv := range p.Info {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// All returns every value of a .PKGINFO key.
func (p *Package) All(key string) []string {
	var out []string
	for _, kv := range p.Info {
		if kv.Key == key {
			out = append(out, kv.Value)
		}
	}
	return out
}

// Verify checks the package's signatures against pub: at least one must
// verify, as apk requires of a trusted key.
func (p *Package) Verify(pub *rsa.PublicKey) error {
	if len(p.Signatures) == 0 {
		return fmt.Errorf("%w: unsigned", ErrInvalid)
	}
	for _, s := range p.Signatures {
		var h hash.Hash
		var hf crypto.Hash
		switch s.Algorithm {
		case "RSA":
			h, hf = sha1.New(), crypto.SHA1
		case "RSA256":
			h, hf = sha256.New(), crypto.SHA256
		default:
			continue
		}
		h.Write(p.ControlSegment)
		if rsa.VerifyPKCS1v15(pub, hf, h.Sum(nil), s.Value) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: no signature verifies with the key", ErrInvalid)
}

// recorder is the reader under the gzip streams: it gives gzip single
// bytes (so that gzip never reads past the end of a stream) and keeps or
// hashes what passes, so that each stream's compressed bytes are known.
type recorder struct {
	r     *bufio.Reader
	keep  *bytes.Buffer
	hash  hash.Hash
	limit int64 // for keep
	over  bool  // keep reached limit
}

func (c *recorder) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.note([]byte{b})
	}
	return b, err
}

func (c *recorder) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.note(p[:n])
	return n, err
}

func (c *recorder) note(p []byte) {
	if c.keep != nil {
		if int64(c.keep.Len()+len(p)) > c.limit {
			c.over = true
		} else {
			c.keep.Write(p)
		}
	}
	if c.hash != nil {
		c.hash.Write(p)
	}
}

// Read parses an apk, checking as it streams what the format promises:
// datahash matches the data stream, each file's checksum matches its
// contents, sizes stay within limits.
func Read(r io.Reader, lim Limits) (*Package, error) {
	rec := &recorder{r: bufio.NewReaderSize(r, 64<<10)}
	p := &Package{Scripts: map[string][]byte{}}
	// The first stream is recorded too: in an unsigned package it is the
	// control segment.
	rec.keep, rec.limit = &bytes.Buffer{}, lim.MaxControl
	zr, err := gzip.NewReader(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: first gzip stream: %v", ErrInvalid, err)
	}
	zr.Multistream(false)

	// The first stream holds the signatures or, in an unsigned package,
	// the control section itself.
	entries, cut, err := readSegment(zr, lim.MaxControl)
	if err != nil {
		return nil, err
	}
	if rec.over {
		return nil, fmt.Errorf("%w: first gzip stream larger than %d bytes", ErrTooLarge, lim.MaxControl)
	}
	control := entries
	p.ControlSegment = rec.keep.Bytes()
	rec.keep = nil
	if len(entries) > 0 && strings.HasPrefix(entries[0].name, ".SIGN.") {
		p.SignatureCut = cut
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.name, ".SIGN.")
			if !ok {
				return nil, fmt.Errorf("%w: %s among the signatures", ErrInvalid, e.name)
			}
			algo, key, _ := strings.Cut(rest, ".")
			p.Signatures = append(p.Signatures, Signature{Algorithm: algo, KeyName: key, Value: e.body})
		}
		// Recording starts before Reset reads the gzip header, so the
		// whole stream is kept for Verify.
		rec.keep, rec.limit = &bytes.Buffer{}, lim.MaxControl
		if err := zr.Reset(rec); err != nil {
			return nil, fmt.Errorf("%w: control gzip stream: %v", ErrInvalid, err)
		}
		zr.Multistream(false)
		if control, cut, err = readSegment(zr, lim.MaxControl); err != nil {
			return nil, err
		}
		if rec.over {
			return nil, fmt.Errorf("%w: control gzip stream larger than %d bytes", ErrTooLarge, lim.MaxControl)
		}
		p.ControlSegment = rec.keep.Bytes()
		rec.keep = nil
	}
	p.ControlCut = cut
	for _, e := range control {
		switch {
		case e.name == ".PKGINFO":
			for _, line := range strings.Split(string(e.body), "\n") {
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				k, v, ok := strings.Cut(line, " = ")
				if !ok {
					return nil, fmt.Errorf("%w: .PKGINFO line %q", ErrInvalid, line)
				}
				p.Info = append(p.Info, KeyValue{k, v})
			}
		case strings.HasPrefix(e.name, "."):
			p.Scripts[e.name] = e.body
		default:
			return nil, fmt.Errorf("%w: %s in the control section", ErrInvalid, e.name)
		}
	}
	if p.Info == nil {
		return nil, fmt.Errorf("%w: no .PKGINFO", ErrInvalid)
	}

	dh := sha256.New()
	rec.hash = dh
	if err := zr.Reset(rec); err != nil {
		return nil, fmt.Errorf("%w: data gzip stream: %v", ErrInvalid, err)
	}
	zr.Multistream(false)
	lr := &io.LimitedReader{R: zr, N: lim.MaxData + 1}
	if err := readData(lr, p, lim); err != nil {
		return nil, err
	}
	// Drain to the end of the stream, within the same limit, so that the
	// hash covers its trailer.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return nil, fmt.Errorf("%w: data stream: %v", ErrInvalid, err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: data larger than %d bytes", ErrTooLarge, lim.MaxData)
	}
	p.DataHash = hex.EncodeToString(dh.Sum(nil))
	if want := p.Get("datahash"); want != "" && want != p.DataHash {
		return nil, fmt.Errorf("%w: datahash %s, data stream hashes to %s", ErrInvalid, want, p.DataHash)
	}
	if _, err := rec.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the third gzip stream", ErrInvalid)
	}
	return p, nil
}

type rawEntry struct {
	name string
	body []byte
}

// readSegment reads the tar entries of one stream and reports whether it
// ended without end-of-archive blocks.
func readSegment(r io.Reader, max int64) ([]rawEntry, bool, error) {
	lr := &io.LimitedReader{R: r, N: max + 1}
	data, err := io.ReadAll(lr)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if int64(len(data)) > max {
		return nil, false, fmt.Errorf("%w: a control stream is larger than %d bytes", ErrTooLarge, max)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	var out []rawEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", ErrInvalid, h.Name, err)
		}
		out = append(out, rawEntry{h.Name, body})
	}
	// A cut segment's length is exactly its entries' blocks; a closed one
	// has at least two zero blocks more.
	cut := len(data) < 1024 || !bytes.Equal(data[len(data)-1024:], make([]byte, 1024))
	return out, cut, nil
}

func readData(lr *io.LimitedReader, p *Package, lim Limits) error {
	tr := tar.NewReader(lr)
	h1 := sha1.New()
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if lr.N <= 0 {
				return fmt.Errorf("%w: data larger than %d bytes", ErrTooLarge, lim.MaxData)
			}
			return fmt.Errorf("%w: data: %v", ErrInvalid, err)
		}
		if len(p.Files) >= lim.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.MaxEntries)
		}
		f := File{Name: h.Name, Type: h.Typeflag, Mode: h.Mode, Size: h.Size, Linkname: h.Linkname,
			Uname: h.Uname, Gname: h.Gname, ModTime: h.ModTime, Checksum: h.PAXRecords[ChecksumRecord]}
		h1.Reset()
		switch h.Typeflag {
		case tar.TypeReg:
			if _, err := io.Copy(h1, tr); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrInvalid, h.Name, err)
			}
		case tar.TypeSymlink:
			h1.Write([]byte(h.Linkname))
		}
		if f.Checksum != "" && f.Checksum != hex.EncodeToString(h1.Sum(nil)) {
			return fmt.Errorf("%w: %s: checksum %s does not match its contents", ErrInvalid, h.Name, f.Checksum)
		}
		p.Files = append(p.Files, f)
	}
}
