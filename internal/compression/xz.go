package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// The parallel xz writer cuts the input into blocks of xzBlock bytes and
// compresses xzWorkers of them at once, each with its own LZMA2 encoder,
// as xz -T does; the blocks form one ordinary .xz stream. The cut points
// depend only on the input, so the output is the same whatever the
// number of cores. Memory: an encoder needs about nine times its
// dictionary (hash table and match data), so two 1 MiB encoders, three
// 3 MiB input blocks and two compressed blocks stay near 35 MiB.
const (
	xzDict    = 1 << 20
	xzBlock   = 3 * xzDict // liblzma's block size for multithreaded xz
	xzWorkers = 2
)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// xzJob is one block on its way through a worker.
type xzJob struct {
	in   []byte
	out  bytes.Buffer
	crc  uint64
	err  error
	done chan struct{}
}

// xzWriter writes an .xz stream (CRC64 checks, one LZMA2 filter).
type xzWriter struct {
	w       io.Writer
	cur     []byte
	free    chan []byte // input buffers
	jobs    chan *xzJob // to the workers
	pending []*xzJob    // submitted, in stream order
	records [][2]uint64 // index: unpadded size, uncompressed size
	err     error
	started bool
	closed  bool
}

func newXzWriter(w io.Writer) *xzWriter {
	x := &xzWriter{w: w, free: make(chan []byte, xzWorkers+1), jobs: make(chan *xzJob, xzWorkers)}
	for range xzWorkers + 1 {
		x.free <- make([]byte, 0, xzBlock)
	}
	for range xzWorkers {
		go xzWork(x.jobs)
	}
	return x
}

func xzWork(jobs <-chan *xzJob) {
	cfg := lzma.Writer2Config{DictCap: xzDict}
	for j := range jobs {
		j.crc = crc64.Checksum(j.in, crc64Table)
		lw, err := cfg.NewWriter2(&j.out)
		if err == nil {
			_, err = lw.Write(j.in)
		}
		if err == nil {
			err = lw.Close()
		}
		j.err = err
		close(j.done)
	}
}

func (x *xzWriter) Write(p []byte) (int, error) {
	if x.closed {
		return 0, errXzClosed
	}
	if x.err != nil {
		return 0, x.err
	}
	n := 0
	for len(p) > 0 {
		if x.cur == nil {
			x.cur = <-x.free
		}
		m := copy(x.cur[len(x.cur):cap(x.cur)], p)
		x.cur = x.cur[:len(x.cur)+m]
		p, n = p[m:], n+m
		if len(x.cur) == cap(x.cur) {
			if err := x.submit(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// submit hands the current block to a worker and, once as many blocks as
// there are workers are in flight, writes out the oldest.
func (x *xzWriter) submit() error {
	j := &xzJob{in: x.cur, done: make(chan struct{})}
	x.cur = nil
	x.pending = append(x.pending, j)
	x.jobs <- j
	if len(x.pending) >= xzWorkers {
		return x.writeOldest()
	}
	return nil
}

func (x *xzWriter) writeOldest() error {
	j := x.pending[0]
	x.pending = x.pending[1:]
	<-j.done
	x.free <- j.in[:0]
	if j.err != nil {
		x.err = j.err
		return x.err
	}
	if err := x.header(); err != nil {
		return err
	}
	x.err = x.writeBlock(j)
	return x.err
}

func (x *xzWriter) header() error {
	if x.started {
		return nil
	}
	x.started = true
	flags := []byte{0x00, 0x04} // CRC64
	h := append([]byte{0xFD, '7', 'z', 'X', 'Z', 0x00}, flags...)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(flags))
	_, x.err = x.w.Write(h)
	return x.err
}

func (x *xzWriter) writeBlock(j *xzJob) error {
	comp, usize := uint64(j.out.Len()), uint64(len(j.in))
	h := []byte{0, 0x40 | 0x80} // header size (below); one filter, both sizes present
	h = binary.AppendUvarint(h, comp)
	h = binary.AppendUvarint(h, usize)
	h = append(h, 0x21, 1, xzDictProp(xzDict)) // LZMA2, one property byte
	for (len(h)+4)%4 != 0 {
		h = append(h, 0)
	}
	h[0] = byte((len(h)+4)/4 - 1)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(h))
	if _, err := x.w.Write(h); err != nil {
		return err
	}
	if _, err := x.w.Write(j.out.Bytes()); err != nil {
		return err
	}
	tail := make([]byte, (4-comp%4)%4, 16)
	tail = binary.LittleEndian.AppendUint64(tail, j.crc)
	if _, err := x.w.Write(tail); err != nil {
		return err
	}
	x.records = append(x.records, [2]uint64{uint64(len(h)) + comp + 8, usize})
	return nil
}

// xzDictProp encodes a dictionary size as LZMA2's property byte: the
// smallest size of the form 2^n or 3*2^(n-1) that holds it.
func xzDictProp(d int) byte {
	for p := 0; p < 40; p++ {
		if (2|(p&1))<<(p/2+11) >= d {
			return byte(p)
		}
	}
	return 40
}

// Close writes the last block, the index and the stream footer.
func (x *xzWriter) Close() error {
	if x.closed {
		return x.err
	}
	x.closed = true
	defer close(x.jobs)
	if x.err != nil {
		return x.err
	}
	if len(x.cur) > 0 {
		j := &xzJob{in: x.cur, done: make(chan struct{})}
		x.cur = nil
		x.pending = append(x.pending, j)
		x.jobs <- j
	}
	for len(x.pending) > 0 {
		if err := x.writeOldest(); err != nil {
			// Let the remaining jobs finish before their buffers go.
			for _, j := range x.pending {
				<-j.done
			}
			return err
		}
	}
	if err := x.header(); err != nil {
		return err
	}
	idx := []byte{0}
	idx = binary.AppendUvarint(idx, uint64(len(x.records)))
	for _, r := range x.records {
		idx = binary.AppendUvarint(idx, r[0])
		idx = binary.AppendUvarint(idx, r[1])
	}
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	foot := binary.LittleEndian.AppendUint32(nil, uint32(len(idx)/4-1))
	foot = append(foot, 0x00, 0x04)
	foot = append(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(foot)), foot...)
	foot = append(foot, 'Y', 'Z')
	if _, err := x.w.Write(idx); err != nil {
		x.err = err
		return err
	}
	if _, err := x.w.Write(foot); err != nil {
		x.err = err
		return err
	}
	return nil
}

var errXzClosed = errors.New("xz: write after close")
