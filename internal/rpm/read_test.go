package rpm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// testHeader is a parsed header, for tests: tag → (type, raw value).
type testHeader struct {
	index []entry // in file order, offsets in entry.data are not kept
	raw   map[int32]entry
	blob  []byte
}

// readTestHeader parses one header blob from r, independently of the
// writer's code, checking the invariants rpm checks on import.
func readTestHeader(t *testing.T, r io.Reader) *testHeader {
	t.Helper()
	var pre [16]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		t.Fatalf("header preamble: %v", err)
	}
	if !bytes.Equal(pre[:8], headerMagic[:]) {
		t.Fatalf("header magic %x", pre[:8])
	}
	il := binary.BigEndian.Uint32(pre[8:])
	dl := binary.BigEndian.Uint32(pre[12:])
	rest := make([]byte, 16*il+dl)
	if _, err := io.ReadFull(r, rest); err != nil {
		t.Fatalf("header body: %v", err)
	}
	h := &testHeader{raw: map[int32]entry{}, blob: append(pre[:], rest...)}
	data := rest[16*il:]
	lastEnd := uint32(0)
	for i := uint32(0); i < il; i++ {
		e := rest[16*i:]
		tag := int32(binary.BigEndian.Uint32(e))
		typ := binary.BigEndian.Uint32(e[4:])
		off := binary.BigEndian.Uint32(e[8:])
		cnt := binary.BigEndian.Uint32(e[12:])
		if off > dl {
			t.Fatalf("tag %d offset %d beyond data %d", tag, off, dl)
		}
		if a := uint32(typeAlign(typ)); off%a != 0 {
			t.Errorf("tag %d type %d misaligned at %d", tag, typ, off)
		}
		var end uint32
		switch typ {
		case typeString, typeI18NString, typeStringArray:
			end = off
			for j := uint32(0); j < cnt; j++ {
				k := bytes.IndexByte(data[end:], 0)
				if k < 0 {
					t.Fatalf("tag %d: unterminated string", tag)
				}
				end += uint32(k) + 1
			}
		default:
			end = off + cnt*uint32(map[uint32]int{typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8, typeBin: 1}[typ])
		}
		if i == 0 {
			if tag != tagHeaderImmutable && tag != tagHeaderSignatures || typ != typeBin || cnt != 16 || end != dl {
				t.Fatalf("first entry is not a region at the end of the data: tag %d type %d count %d end %d/%d", tag, typ, cnt, end, dl)
			}
			tr := data[off:]
			if int32(binary.BigEndian.Uint32(tr)) != tag || binary.BigEndian.Uint32(tr[4:]) != typeBin ||
				int32(binary.BigEndian.Uint32(tr[8:])) != -int32(16*il) || binary.BigEndian.Uint32(tr[12:]) != 16 {
				t.Fatalf("region trailer %x", tr[:16])
			}
		} else {
			if off < lastEnd {
				t.Errorf("tag %d overlaps its predecessor", tag)
			}
			if prev := h.index[len(h.index)-1].tag; i > 1 && tag <= prev {
				t.Errorf("tags not sorted: %d after %d", tag, prev)
			}
			lastEnd = end
		}
		en := entry{tag: tag, typ: typ, count: cnt, data: data[off:end]}
		h.index = append(h.index, en)
		h.raw[tag] = en
	}
	return h
}

func (h *testHeader) strings(tag int32) []string {
	e, ok := h.raw[tag]
	if !ok {
		return nil
	}
	s := strings.Split(string(e.data), "\x00")
	return s[:len(s)-1]
}

func (h *testHeader) str(tag int32) string {
	if s := h.strings(tag); len(s) > 0 {
		return s[0]
	}
	return ""
}

func (h *testHeader) ints(tag int32) []int64 {
	e, ok := h.raw[tag]
	if !ok {
		return nil
	}
	var out []int64
	for i := uint32(0); i < e.count; i++ {
		switch e.typ {
		case typeInt16:
			out = append(out, int64(binary.BigEndian.Uint16(e.data[2*i:])))
		case typeInt32:
			out = append(out, int64(int32(binary.BigEndian.Uint32(e.data[4*i:]))))
		case typeInt64:
			out = append(out, int64(binary.BigEndian.Uint64(e.data[8*i:])))
		}
	}
	return out
}

// testPackage is a package file split into its parts.
type testPackage struct {
	lead    []byte
	sig     *testHeader
	hdr     *testHeader
	payload []byte
}

func readTestPackage(t *testing.T, name string) *testPackage {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	p := &testPackage{lead: make([]byte, 96)}
	io.ReadFull(r, p.lead)
	p.sig = readTestHeader(t, r)
	if pad := (8 - len(p.sig.blob)%8) % 8; pad > 0 {
		io.CopyN(io.Discard, r, int64(pad))
	}
	p.hdr = readTestHeader(t, r)
	p.payload, _ = io.ReadAll(r)
	return p
}

func (h *testHeader) String() string {
	var b strings.Builder
	for _, e := range h.index {
		fmt.Fprintf(&b, "%d/%d/%d ", e.tag, e.typ, e.count)
	}
	return b.String()
}
