package rpm

import (
	"fmt"
	"io"
)

// cpioWriter writes the cpio archive rpm uses as payload: "newc" (070701)
// entries, or, when a file is too large for newc's 32-bit size field, rpm's
// "stripped" entries (07070X) that carry only the file's index into the
// header's file arrays (rpm 4.12+, rpmlib(LargeFiles)).
type cpioWriter struct {
	w        io.Writer
	n        int64 // bytes written, for padding and PAYLOADSIZE
	stripped bool
	buf      [128]byte
	err      error
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

var zeros [4]byte

func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(zeros[:4-r])
	}
}

// cpioEntry is what a newc header says about one file. rpm reads names,
// modes, owners and times from its own header, not from here, but keeps
// the newc fields truthful so that rpm2cpio | cpio -i works.
type cpioEntry struct {
	index int // position in the header's file list
	name  string
	ino   uint32
	mode  uint32
	mtime uint32
	size  int64
}

func (c *cpioWriter) Header(e cpioEntry) error {
	c.pad()
	if c.stripped {
		b := fmt.Appendf(c.buf[:0], "07070X%08x", e.index)
		c.write(b)
		c.pad()
		return c.err
	}
	b := fmt.Appendf(c.buf[:0], "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		e.ino, e.mode, 0, 0, 1, e.mtime, uint32(e.size), 0, 0, 0, 0, len(e.name)+1, 0)
	c.write(b)
	c.write([]byte(e.name))
	c.write(zeros[:1])
	c.pad()
	return c.err
}

// Write writes file content after Header.
func (c *cpioWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.write(p)
	return len(p), c.err
}

// Close writes the trailer entry; it is a newc entry in both variants.
func (c *cpioWriter) Close() error {
	c.pad()
	const name = "TRAILER!!!"
	b := fmt.Appendf(c.buf[:0], "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(name)+1, 0)
	c.write(b)
	c.write([]byte(name))
	c.write(zeros[:1])
	c.pad()
	return c.err
}
