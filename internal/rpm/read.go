package rpm

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/packhouse/packhouse/internal/index/rpmmd"
)

var (
	// ErrInvalid is wrapped by the errors about a package Write cannot
	// write (a malformed version, dependency, path or option) and by the
	// errors about the bytes of a package Read cannot read. Errors from
	// Read's reader are returned as they are and do not wrap it.
	ErrInvalid = errors.New("rpm: invalid package")
	// ErrTooLarge is wrapped by the errors Read returns for headers
	// beyond its Limits.
	ErrTooLarge = errors.New("rpm: too large")
)

// Limits bound what Read holds in memory: both headers are read whole. A
// zero field takes its value from DefaultLimits.
type Limits struct {
	// MaxHeader bounds the signature header (with its padding) and the
	// main header together, in bytes as stored.
	MaxHeader int64
	// MaxEntries bounds the index entries of each header.
	MaxEntries int
}

// DefaultLimits returns 64 MiB of headers, a quarter of the 256 MiB data
// store rpm accepts per header, and rpm's own bound of 65,535 entries.
// Real packages have a hundred entries or so; their main header grows
// with the file list, by about a hundred bytes per file.
func DefaultLimits() Limits {
	return Limits{MaxHeader: 64 << 20, MaxEntries: maxEntries}
}

// maxEntries is rpm's bound on index entries (HEADER_TAGS_MAX).
const maxEntries = 0xffff

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxHeader <= 0 {
		l.MaxHeader = d.MaxHeader
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// Info is what the server keeps of an rpm.
type Info struct {
	// Meta is what rpm-md says about the package, taken from its headers
	// as createrepo_c takes it. What depends on the file as a whole is
	// left to the caller: SHA256, PackageSize, FileTime and Location.
	// Name, Version, Release and Arch are never empty, but otherwise as
	// stored: a caller that makes paths of them must check them.
	Meta rpmmd.Package
	// Source reports a source rpm, whose Meta.Arch is then "src".
	Source bool
}

// The lead is the fixed-size start of every package (struct rpmlead).
const (
	leadSize          = 96
	leadSigHeaderType = 5 // RPMSIGTYPE_HEADERSIG, the only one rpm reads
)

var leadMagic = []byte{0xed, 0xab, 0xee, 0xdb}

// Read parses the lead, the signature header with its padding and the
// main header of the package in r, checking them as rpm does when it
// opens a package, and the main header against the signature header's
// SHA-256 (or SHA-1) digest when it has one. It stops right after the
// main header: r is left at the payload, which Read neither reads nor
// decompresses, and nothing is read ahead, so r may be a network stream.
//
// Errors about the package's bytes wrap ErrInvalid, or ErrTooLarge for
// headers beyond lim.
func Read(r io.Reader, lim Limits) (*Info, error) {
	lim = lim.withDefaults()
	var lead [leadSize]byte
	if err := readFull(r, lead[:], "lead"); err != nil {
		return nil, err
	}
	if err := checkLead(lead[:]); err != nil {
		return nil, err
	}

	budget := lim.MaxHeader
	sig, err := readHeader(r, "signature header", tagHeaderSignatures, &budget, lim)
	if err != nil {
		return nil, err
	}
	// The main header starts 8-aligned; rpm reads the padding as part of
	// the signature header.
	var pad [8]byte
	padLen := int64((8 - len(sig.blob)%8) % 8)
	if padLen > budget {
		return nil, tooLarge(lim)
	}
	budget -= padLen
	if err := readFull(r, pad[:padLen], "signature header padding"); err != nil {
		return nil, err
	}
	hdr, err := readHeader(r, "header", tagHeaderImmutable, &budget, lim)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(sig, hdr); err != nil {
		return nil, err
	}

	start := int64(leadSize) + int64(len(sig.blob)) + padLen
	return newInfo(sig, hdr, start, start+int64(len(hdr.blob)))
}

func readFull(r io.Reader, b []byte, what string) error {
	_, err := io.ReadFull(r, b)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated in the %s", ErrInvalid, what)
	default:
		return fmt.Errorf("rpm: reading the %s: %w", what, err)
	}
}

func tooLarge(lim Limits) error {
	return fmt.Errorf("%w: headers larger than %d bytes", ErrTooLarge, lim.MaxHeader)
}

// checkLead checks what rpm checks of the lead (rpmLeadCheck). The rest
// of it, package type included, rpm ignores: the header says.
func checkLead(b []byte) error {
	if !bytes.Equal(b[:4], leadMagic) {
		return fmt.Errorf("%w: not an rpm package (lead magic %x)", ErrInvalid, b[:4])
	}
	if major := b[4]; major != 3 && major != 4 {
		return fmt.Errorf("%w: lead format version %d.%d, want 3 or 4", ErrInvalid, major, b[5])
	}
	if st := binary.BigEndian.Uint16(b[78:]); st != leadSigHeaderType {
		return fmt.Errorf("%w: lead signature type %d, want %d", ErrInvalid, st, leadSigHeaderType)
	}
	return nil
}

// rawHeader is one header as read: its bytes, which the signature
// header's digests cover, and its entries by tag, each value checked to
// lie within the data store and sliced to its exact length.
type rawHeader struct {
	blob    []byte
	entries map[int32]entry
	// region reports that the header opens with a region entry, as every
	// header written since rpm 4.0 does.
	region bool
}

// readHeader reads one header from r, taking its size from *budget.
func readHeader(r io.Reader, what string, regionTag int32, budget *int64, lim Limits) (*rawHeader, error) {
	var pre [16]byte
	if err := readFull(r, pre[:], what); err != nil {
		return nil, err
	}
	if !bytes.Equal(pre[:8], headerMagic[:]) {
		return nil, fmt.Errorf("%w: %s magic %x", ErrInvalid, what, pre[:8])
	}
	il := binary.BigEndian.Uint32(pre[8:])
	dl := binary.BigEndian.Uint32(pre[12:])
	if uint64(il) > uint64(lim.MaxEntries) {
		return nil, fmt.Errorf("%w: %s has %d entries, more than %d", ErrTooLarge, what, il, lim.MaxEntries)
	}
	size := int64(len(pre)) + 16*int64(il) + int64(dl)
	if size > *budget {
		return nil, tooLarge(lim)
	}
	*budget -= size
	blob := make([]byte, size)
	copy(blob, pre[:])
	if err := readFull(r, blob[len(pre):], what); err != nil {
		return nil, err
	}
	return parseHeader(blob, what, regionTag)
}

// parseHeader checks a header blob as rpm does before it uses one
// (hdrblobVerifyRegion and hdrblobVerifyInfo, with a package file's
// exact-size rule) and indexes its entries.
func parseHeader(blob []byte, what string, regionTag int32) (*rawHeader, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, what, fmt.Sprintf(format, args...))
	}
	il := int(binary.BigEndian.Uint32(blob[8:]))
	dl := int(binary.BigEndian.Uint32(blob[12:]))
	if il == 0 {
		return nil, invalid("no entries")
	}
	if dl > maxHeaderData {
		return nil, invalid("data store of %d bytes, more than rpm accepts", dl)
	}
	index := blob[16 : 16+16*il]
	data := blob[16+16*il:]
	h := &rawHeader{blob: blob, entries: make(map[int32]entry, il)}

	first := 0
	if tag, typ, off, count := indexEntry(index, 0); tag == regionTag {
		if typ != typeBin || count != 16 {
			return nil, invalid("region entry of type %d and count %d", typ, count)
		}
		// In a package, the region covers the whole header: its trailer
		// closes the data store and counts every entry.
		if uint64(off)+16 != uint64(dl) {
			return nil, invalid("region trailer at %d does not end the %d-byte data store", off, dl)
		}
		ttag, ttyp, toff, tcount := indexEntry(data[off:], 0)
		if regionTag == tagHeaderSignatures && ttag == tagHeaderImage {
			ttag = tagHeaderSignatures // written so by some old rpm versions
		}
		if ttag != regionTag || ttyp != typeBin || tcount != 16 || -int64(int32(toff)) != 16*int64(il) {
			return nil, invalid("region trailer %x does not match its %d entries", data[off:off+16], il)
		}
		h.region = true
		first = 1
	}

	end := 0 // of the previous entry's value
	for i := first; i < il; i++ {
		tag, typ, off32, count := indexEntry(index, i)
		off := int(off32)
		if off32 > uint32(dl) {
			return nil, invalid("entry %d (tag %d) at offset %d, beyond the %d-byte data store", i, tag, off32, dl)
		}
		if tag < tagHeaderI18NTable {
			return nil, invalid("entry %d has reserved tag %d", i, tag)
		}
		if typ == 0 || typ > typeI18NString {
			return nil, invalid("entry %d (tag %d) has unknown type %d", i, tag, typ)
		}
		if off%typeAlign(typ) != 0 {
			return nil, invalid("entry %d (tag %d) of type %d misaligned at offset %d", i, tag, typ, off)
		}
		if off < end {
			return nil, invalid("entry %d (tag %d) overlaps the entry before it", i, tag)
		}
		n, err := valueLen(typ, count, data[off:])
		if err != nil {
			return nil, invalid("entry %d (tag %d): %v", i, tag, err)
		}
		if _, dup := h.entries[tag]; dup {
			return nil, invalid("tag %d appears twice", tag)
		}
		h.entries[tag] = entry{tag: tag, typ: typ, count: count, data: data[off : off+n]}
		end = off + n
	}
	return h, nil
}

func indexEntry(index []byte, i int) (tag int32, typ, off, count uint32) {
	e := index[16*i : 16*i+16]
	return int32(binary.BigEndian.Uint32(e)), binary.BigEndian.Uint32(e[4:]),
		binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
}

// valueLen returns the length of a value of count elements of type typ at
// the start of b, and fails if it does not fit in b.
func valueLen(typ, count uint32, b []byte) (int, error) {
	if count == 0 {
		return 0, errors.New("no elements")
	}
	switch typ {
	case typeString, typeStringArray, typeI18NString:
		if typ == typeString && count != 1 {
			return 0, fmt.Errorf("string of %d elements", count)
		}
		n := 0
		for range count {
			i := bytes.IndexByte(b[n:], 0)
			if i < 0 {
				return 0, errors.New("string not terminated within the data store")
			}
			n += i + 1
		}
		return n, nil
	}
	size := uint64(1)
	switch typ {
	case typeInt16:
		size = 2
	case typeInt32:
		size = 4
	case typeInt64:
		size = 8
	}
	if n := size * uint64(count); n <= uint64(len(b)) {
		return int(n), nil
	}
	return 0, fmt.Errorf("%d elements of type %d run past the data store", count, typ)
}

// checkDigest checks the main header against the signature header's
// digest of it. rpm refuses a package whose digest does not match; one
// without a digest (older than rpm 4.0) has nothing to check.
func checkDigest(sig, hdr *rawHeader) error {
	for _, d := range []struct {
		tag  int32
		name string
		hash func() hash.Hash
	}{{sigSHA256, "SHA-256", sha256.New}, {sigSHA1, "SHA-1", sha1.New}} {
		e, ok := sig.entries[d.tag]
		if !ok {
			continue
		}
		if e.typ != typeString {
			return fmt.Errorf("%w: signature header: %s digest of type %d", ErrInvalid, d.name, e.typ)
		}
		h := d.hash()
		h.Write(hdr.blob)
		want := cstring(e.data)
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
			return fmt.Errorf("%w: header %s digest is %s, the signature header says %q", ErrInvalid, d.name, got, want)
		}
		return nil
	}
	return nil
}

// cstring returns the NUL-terminated string at the start of b, which
// parseHeader has checked to hold one.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
