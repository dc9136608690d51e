package compression

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// xzReader decodes an xz file (xz-file-format 1.2.1) with LZMA2 blocks.
//
// It parses the container itself and hands only the LZMA2 data of each
// block to ulikunitz/xz/lzma, because ulikunitz/xz.Reader allocates the
// dictionary that each block header asks for, up to 4 GiB, before it
// decodes a byte. Here the dictionary is capped at maxDict and at the
// block's size when its header gives it: a dictionary larger than all the
// output it will serve is never used. A stream that does refer further
// back than maxDict fails with ErrWindow.
type xzReader struct {
	r       *bufio.Reader
	maxDict int
	err     error // sticky

	inStream bool
	streams  int
	flags    [2]byte // stream flags of the current stream
	newCheck func() hash.Hash
	checkLen int

	// The current block, when block is not nil.
	block            io.Reader
	packed           countingReader
	headerLen        int
	wantPacked       int64 // -1 if the block header does not say
	wantUnpacked     int64 // -1 if the block header does not say
	cutDict          int64 // the dictionary the block asked for, if more than it got
	unpacked         int64
	check            hash.Hash
	checkBuf         [sha256.Size]byte
	header           [1024]byte
	blocks           uint64
	records, indexed hash.Hash64 // blocks seen and blocks the index lists
	indexSize        int64
}

func newXzReader(r *bufio.Reader, maxDict int64) *xzReader {
	dict := int64(lzma.MaxDictCap)
	if maxDict < dict {
		dict = max(maxDict, lzma.MinDictCap)
	}
	return &xzReader{r: r, maxDict: int(dict)}
}

func xzError(format string, args ...any) error {
	return fmt.Errorf("xz: "+format, args...)
}

func (x *xzReader) Read(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	for {
		if x.block == nil {
			if err := x.next(); err != nil {
				x.err = err
				return 0, err
			}
			continue
		}
		n, err := x.block.Read(p)
		x.unpacked += int64(n)
		if x.check != nil {
			x.check.Write(p[:n])
		}
		if x.wantUnpacked >= 0 && x.unpacked > x.wantUnpacked {
			err = xzError("block is larger than its header says")
		}
		if x.wantPacked >= 0 && x.packed.n > x.wantPacked {
			err = xzError("compressed block is larger than its header says")
		}
		if err != nil && err != io.EOF && x.cutDict > 0 {
			// The stream is corrupt or refers back further than the
			// dictionary it got; a reader cannot tell which.
			err = fmt.Errorf("xz: %w: block needs up to %d bytes of dictionary, over the limit of %d (or is corrupt): %v",
				ErrWindow, x.cutDict, x.maxDict, err)
		}
		if err == io.EOF {
			err = x.endBlock()
			x.block = nil
			if err == nil && n == 0 {
				continue
			}
		}
		if err != nil {
			x.err = noEOF(err)
			return n, x.err
		}
		return n, nil
	}
}

// noEOF turns the end of input inside the xz structure into the error it
// is.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// next reads up to the start of the next block's data, across indexes,
// stream footers, stream padding and stream headers. It returns io.EOF at
// the end of the input.
func (x *xzReader) next() error {
	for {
		if !x.inStream {
			if x.streams > 0 {
				end, err := x.skipStreamPadding()
				if err != nil {
					return err
				}
				if end {
					return io.EOF
				}
			}
			if err := x.readStreamHeader(); err != nil {
				return err
			}
			continue
		}
		b, err := x.r.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if b == 0 {
			if err := x.readIndex(); err != nil {
				return err
			}
			if err := x.readStreamFooter(); err != nil {
				return err
			}
			x.inStream = false
			continue
		}
		return x.startBlock(b)
	}
}

// skipStreamPadding skips the groups of four zero bytes allowed between
// and after streams, and reports whether the input ended.
func (x *xzReader) skipStreamPadding() (bool, error) {
	for {
		b, err := x.r.Peek(4)
		if len(b) == 0 && err == io.EOF {
			return true, nil
		}
		if len(b) == 0 || b[0] != 0 {
			return false, err
		}
		if len(b) < 4 || !bytes.Equal(b, []byte{0, 0, 0, 0}) {
			return false, xzError("bad stream padding")
		}
		x.r.Discard(4)
	}
}

func (x *xzReader) readStreamHeader() error {
	var h [12]byte
	if _, err := io.ReadFull(x.r, h[:]); err != nil {
		return noEOF(err)
	}
	if string(h[:6]) != "\xfd7zXZ\x00" {
		if x.streams > 0 {
			return xzError("data after the last stream")
		}
		return xzError("not an xz file")
	}
	if crc32.ChecksumIEEE(h[6:8]) != binary.LittleEndian.Uint32(h[8:]) {
		return xzError("stream header checksum mismatch")
	}
	if h[6] != 0 || h[7]&0xf0 != 0 {
		return xzError("unsupported stream flags %#x", h[6:8])
	}
	switch h[7] {
	case 0x00:
		x.newCheck, x.checkLen = nil, 0
	case 0x01:
		x.newCheck, x.checkLen = func() hash.Hash { return crc32.NewIEEE() }, 4
	case 0x04:
		x.newCheck, x.checkLen = func() hash.Hash { return crc64.New(crc64Table) }, 8
	case 0x0a:
		x.newCheck, x.checkLen = sha256.New, 32
	default:
		return xzError("unsupported check type %#x", h[7])
	}
	copy(x.flags[:], h[6:8])
	x.inStream = true
	x.streams++
	x.blocks = 0
	x.records = crc64.New(crc64Table)
	x.indexed = crc64.New(crc64Table)
	return nil
}

func (x *xzReader) startBlock(sizeByte byte) error {
	size := (int(sizeByte) + 1) * 4
	h := x.header[:size]
	h[0] = sizeByte
	if _, err := io.ReadFull(x.r, h[1:]); err != nil {
		return noEOF(err)
	}
	if crc32.ChecksumIEEE(h[:size-4]) != binary.LittleEndian.Uint32(h[size-4:]) {
		return xzError("block header checksum mismatch")
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return xzError("unsupported block flags %#x", flags)
	}
	r := bytes.NewReader(h[2 : size-4])
	x.wantPacked, x.wantUnpacked = -1, -1
	if flags&0x40 != 0 {
		n, err := readUvarint(r)
		if err != nil || n == 0 || n > 1<<62 {
			return xzError("bad compressed size in block header")
		}
		x.wantPacked = int64(n)
	}
	if flags&0x80 != 0 {
		n, err := readUvarint(r)
		if err != nil || n > 1<<62 {
			return xzError("bad uncompressed size in block header")
		}
		x.wantUnpacked = int64(n)
	}
	// dpkg-deb, like xz, writes one LZMA2 filter and nothing else.
	if flags&0x03 != 0 {
		return xzError("unsupported filter chain")
	}
	id, err1 := readUvarint(r)
	propsLen, err2 := readUvarint(r)
	props, err3 := r.ReadByte()
	if err1 != nil || err2 != nil || err3 != nil {
		return xzError("truncated block header")
	}
	if id != 0x21 || propsLen != 1 {
		return xzError("unsupported filter %#x", id)
	}
	if props > 40 {
		return xzError("bad LZMA2 dictionary size")
	}
	for r.Len() > 0 {
		if b, _ := r.ReadByte(); b != 0 {
			return xzError("non-zero block header padding")
		}
	}
	dict := int64(0xffffffff)
	if props < 40 {
		dict = int64(2|props&1) << (props/2 + 11)
	}
	if x.wantUnpacked >= 0 {
		dict = max(min(dict, x.wantUnpacked), lzma.MinDictCap)
	}
	x.cutDict = 0
	if dict > int64(x.maxDict) {
		x.cutDict, dict = dict, int64(x.maxDict)
	}
	x.packed = countingReader{r: x.r}
	lr, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(&x.packed)
	if err != nil {
		return xzError("%v", err)
	}
	x.block = lr
	x.headerLen = size
	x.unpacked = 0
	x.check = nil
	if x.newCheck != nil {
		x.check = x.newCheck()
	}
	return nil
}

func (x *xzReader) endBlock() error {
	if x.wantPacked >= 0 && x.packed.n != x.wantPacked {
		return xzError("compressed block size differs from its header")
	}
	if x.wantUnpacked >= 0 && x.unpacked != x.wantUnpacked {
		return xzError("block size differs from its header")
	}
	for i := x.packed.n; i%4 != 0; i++ {
		b, err := x.r.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if b != 0 {
			return xzError("non-zero block padding")
		}
	}
	if x.checkLen > 0 {
		got := x.checkBuf[:x.checkLen]
		if _, err := io.ReadFull(x.r, got); err != nil {
			return noEOF(err)
		}
		var want []byte
		switch c := x.check.(type) {
		case hash.Hash32:
			want = binary.LittleEndian.AppendUint32(nil, c.Sum32())
		case hash.Hash64:
			want = binary.LittleEndian.AppendUint64(nil, c.Sum64())
		default:
			want = c.Sum(nil)
		}
		if !bytes.Equal(got, want) {
			return xzError("block checksum mismatch")
		}
	}
	// Only a digest of the records is kept, so that memory does not grow
	// with the number of blocks.
	unpadded := int64(x.headerLen) + x.packed.n + int64(x.checkLen)
	var rec [16]byte
	binary.LittleEndian.PutUint64(rec[:], uint64(unpadded))
	binary.LittleEndian.PutUint64(rec[8:], uint64(x.unpacked))
	x.records.Write(rec[:])
	x.blocks++
	return nil
}

// readIndex reads the index, whose indicator byte has been read, and
// checks that it lists the blocks that were decoded.
func (x *xzReader) readIndex() error {
	r := &indexReader{r: x.r, crc: crc32.NewIEEE(), n: 1}
	r.crc.Write([]byte{0})
	count, err := readUvarint(r)
	if err != nil {
		return noEOF(err)
	}
	if count != x.blocks {
		return xzError("index lists %d blocks, stream has %d", count, x.blocks)
	}
	for range count {
		unpadded, err := readUvarint(r)
		if err != nil {
			return noEOF(err)
		}
		unpacked, err := readUvarint(r)
		if err != nil {
			return noEOF(err)
		}
		var rec [16]byte
		binary.LittleEndian.PutUint64(rec[:], unpadded)
		binary.LittleEndian.PutUint64(rec[8:], unpacked)
		x.indexed.Write(rec[:])
	}
	if x.indexed.Sum64() != x.records.Sum64() {
		return xzError("index does not match the blocks")
	}
	for r.n%4 != 0 {
		b, err := r.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if b != 0 {
			return xzError("non-zero index padding")
		}
	}
	sum := r.crc.Sum32()
	var c [4]byte
	if _, err := io.ReadFull(x.r, c[:]); err != nil {
		return noEOF(err)
	}
	if binary.LittleEndian.Uint32(c[:]) != sum {
		return xzError("index checksum mismatch")
	}
	x.indexSize = r.n + 4
	return nil
}

func (x *xzReader) readStreamFooter() error {
	var f [12]byte
	if _, err := io.ReadFull(x.r, f[:]); err != nil {
		return noEOF(err)
	}
	if string(f[10:]) != "YZ" {
		return xzError("bad stream footer")
	}
	if crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f[:4]) {
		return xzError("stream footer checksum mismatch")
	}
	if (int64(binary.LittleEndian.Uint32(f[4:8]))+1)*4 != x.indexSize {
		return xzError("stream footer has the wrong index size")
	}
	if f[8] != x.flags[0] || f[9] != x.flags[1] {
		return xzError("stream footer flags differ from the header")
	}
	return nil
}

// readUvarint reads xz's variable-length integer: at most nine bytes, and
// no needless zero byte at the end.
func readUvarint(r io.ByteReader) (uint64, error) {
	var n uint64
	for i := range 9 {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			if b == 0 && i > 0 {
				return 0, xzError("bad variable-length integer")
			}
			return n, nil
		}
	}
	return 0, xzError("variable-length integer too long")
}

type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// indexReader feeds the bytes of the index to its checksum.
type indexReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	n   int64
}

func (r *indexReader) ReadByte() (byte, error) {
	b, err := r.r.ReadByte()
	if err == nil {
		r.crc.Write([]byte{b})
		r.n++
	}
	return b, err
}
