package rpm

import (
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"unicode/utf8"
)

var headerMagic = [8]byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

// rpm refuses headers whose data store is larger than this (HEADER_DATA_MAX
// in lib/header_internal.h); checking here turns a package rpm would reject
// into an error at build time.
const maxHeaderData = 256 << 20

// errHeaderTooLarge is returned for packages whose metadata (mostly the
// file list) does not fit in one rpm header.
var errHeaderTooLarge = errors.New("rpm: header larger than rpm accepts (256 MiB); too many files")

type entry struct {
	tag   int32
	typ   uint32
	count uint32
	data  []byte
}

// header collects tagged values and serialises them the way rpm's
// headerExport does after headerReload: entries sorted by tag, the region
// entry first, data in index order with each value aligned to its type,
// the region trailer last.
type header struct {
	entries map[int32]entry
	// allUTF8 records whether every string is valid UTF-8, which decides
	// whether the header may claim ENCODING utf-8.
	allUTF8 bool
}

func newHeader() *header {
	return &header{entries: make(map[int32]entry), allUTF8: true}
}

func (h *header) put(tag int32, typ uint32, count uint32, data []byte) {
	h.entries[tag] = entry{tag: tag, typ: typ, count: count, data: data}
}

func (h *header) checkString(s string) {
	if h.allUTF8 && !utf8.ValidString(s) {
		h.allUTF8 = false
	}
}

func (h *header) String(tag int32, s string) {
	h.checkString(s)
	h.put(tag, typeString, 1, append([]byte(s), 0))
}

// I18NString stores s as the only (the "C" locale) translation.
func (h *header) I18NString(tag int32, s string) {
	h.checkString(s)
	h.put(tag, typeI18NString, 1, append([]byte(s), 0))
}

func (h *header) StringArray(tag int32, ss []string) {
	n := 0
	for _, s := range ss {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for _, s := range ss {
		h.checkString(s)
		b = append(b, s...)
		b = append(b, 0)
	}
	h.put(tag, typeStringArray, uint32(len(ss)), b)
}

func (h *header) Int32(tag int32, vs ...int32) {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], uint32(v))
	}
	h.put(tag, typeInt32, uint32(len(vs)), b)
}

func (h *header) Int16(tag int32, vs ...uint16) {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	h.put(tag, typeInt16, uint32(len(vs)), b)
}

func (h *header) Int64(tag int32, vs ...uint64) {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint64(b[8*i:], v)
	}
	h.put(tag, typeInt64, uint32(len(vs)), b)
}

func (h *header) Bin(tag int32, b []byte) {
	h.put(tag, typeBin, uint32(len(b)), b)
}

func typeAlign(typ uint32) int {
	switch typ {
	case typeInt16:
		return 2
	case typeInt32:
		return 4
	case typeInt64:
		return 8
	}
	return 1
}

// Marshal returns the header blob: magic, index, data. regionTag is
// tagHeaderImmutable for the main header and tagHeaderSignatures for the
// signature header.
func (h *header) Marshal(regionTag int32) ([]byte, error) {
	es := make([]entry, 0, len(h.entries))
	for _, e := range h.entries {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].tag < es[j].tag })

	n := len(es) + 1 // the region entry
	dataLen := 0
	for _, e := range es {
		a := typeAlign(e.typ)
		dataLen = (dataLen+a-1)/a*a + len(e.data)
	}
	dataLen += 16 // region trailer
	if dataLen > maxHeaderData {
		return nil, errHeaderTooLarge
	}

	out := make([]byte, 16+16*n+dataLen)
	copy(out, headerMagic[:])
	binary.BigEndian.PutUint32(out[8:], uint32(n))
	binary.BigEndian.PutUint32(out[12:], uint32(dataLen))
	index := out[16 : 16+16*n]
	data := out[16+16*n:]

	putEntry := func(b []byte, tag int32, typ uint32, off int32, count uint32) {
		binary.BigEndian.PutUint32(b[0:], uint32(tag))
		binary.BigEndian.PutUint32(b[4:], typ)
		binary.BigEndian.PutUint32(b[8:], uint32(off))
		binary.BigEndian.PutUint32(b[12:], count)
	}

	off := 0
	for i, e := range es {
		a := typeAlign(e.typ)
		off = (off + a - 1) / a * a
		copy(data[off:], e.data)
		putEntry(index[16*(i+1):], e.tag, e.typ, int32(off), e.count)
		off += len(e.data)
	}
	// The trailer's negative offset is the size of the index the region
	// covers; rpm uses it to find where the immutable region ends.
	putEntry(data[off:], regionTag, typeBin, -int32(16*n), 16)
	putEntry(index, regionTag, typeBin, int32(off), 16)
	return out, nil
}

// validToken reports whether s can be stored as an rpm name, version,
// release or dependency: rpm splits these on whitespace.
func validToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f
	})
}
