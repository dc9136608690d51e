package push

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxEntries bounds the hash cache; past it, the entries used least
// recently are dropped.
const DefaultMaxEntries = 200_000

// racyWindow: a file modified less than this long before it was read may be
// written again within the same mtime tick (a jiffy on Linux, 1 s on some
// file systems, 2 s on FAT) without its mtime changing, so its hash is not
// remembered. Remembering it could link the old bytes to the branch.
const racyWindow = 2 * time.Second

// pruneEvery is how often entries not used by a run are checked against the
// file system; checking costs one stat per entry.
const pruneEvery = 24 * time.Hour

// cacheMagic starts a hash cache file; the last byte is the format version.
// Version 1 had no update frames; its files are read as they are.
var (
	cacheMagic   = []byte("PHHASH\x00\x02")
	cacheMagicV1 = []byte("PHHASH\x00\x01")
)

// frameUpdate starts an update frame.
const frameUpdate = 'U'

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Cache remembers the SHA-256 of files by absolute path, size, modification
// time, inode and device, so that a file left alone since the last push is
// not read again. It is safe for concurrent use.
//
// The file is binary: a base, written whole, then update frames that Save
// appends, so that a push of a few files into a cache of thousands writes
// a few hundred bytes, not the whole file again (which took over a
// millisecond at 2,000 entries, and flushed the file's blocks: ext4
// writes out a file renamed over another). Past a bound, Save writes the
// base again with the updates in it. Lengths are varints; the numbers of
// an entry are fixed 8-byte little-endian words, which decode several
// times faster than varints and cost 18 bytes an entry more:
//
//	magic     "PHHASH\x00\x02"
//	pruned    varint: Unix seconds of the last full check against the disk
//	count     uvarint
//	pathBytes uvarint: the sum of the paths' lengths
//	count entries, sorted by path:
//	  shared  uvarint: bytes of the path shared with the previous entry's
//	  suffix  uvarint length, then the rest of the path
//	  size    8 bytes
//	  mtime   8 bytes: nanoseconds since the Unix epoch
//	  inode   8 bytes
//	  device  8 bytes
//	  used    8 bytes: Unix seconds when it last served or was stored
//	  sha256  32 bytes
//	crc32c    4 bytes, of everything before it
//	update frames, each:
//	  kind    "U"
//	  count   uvarint
//	  count entries, in any order, a later one winning:
//	    path  uvarint length, then the path
//	    the same 72 bytes as above
//	  crc32c  4 bytes, of the frame before it
//
// A frame cut short by a crash, or two appends that interleaved, fail
// their checksum: reading stops there, and the next Save writes the file
// whole.
//
// Paths in one directory share their prefix, so an entry costs about 100
// bytes: 10 MB for 100,000 files. Loaded entries stay in that sorted order and
// are found by binary search; a map of them would take most of the time of
// loading, and the order saves sorting them again in Save.
type Cache struct {
	path       string
	maxEntries int
	start      time.Time // of this run: entries used since are kept

	mu sync.Mutex
	// data is the file, mapped where the system can (readCacheFile). Its
	// records are decoded into loaded only when all are needed (parse): a
	// push of a few files looks them up in one walk of data (prepare),
	// decoding nothing else, which at 20,000 entries saved 8 ms of a 13 ms
	// push, most of it the kernel giving the process the memory the
	// records took.
	data []byte
	// release lets go of data (readCacheFile).
	release  func()
	parsed   bool
	prepared map[string]bool       // the paths prepare looked for
	found    map[string]cacheEntry // what it found of them
	count    int                   // records in the file, frames' included
	loaded   []cacheRecord         // once parsed, by path
	added    map[string]cacheEntry // stored by this run; wins over loaded
	// delta has the entries stored or used by this run and not saved:
	// what an update frame would add.
	delta  map[string]cacheEntry
	pruned int64
	dirty  bool
	// frames counts the entries in the file's update frames; whole says
	// the file must be written whole (it is missing, corrupt or older).
	frames int
	whole  bool
}

type cacheRecord struct {
	path string
	cacheEntry
}

type cacheEntry struct {
	size  int64
	mtime int64
	ino   uint64
	dev   uint64
	used  int64
	sum   [32]byte
}

// DefaultCachePath is $XDG_CACHE_HOME/packhouse/hashes, or
// ~/.cache/packhouse/hashes (the platform's cache directory outside Linux
// and BSD).
func DefaultCachePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "packhouse", "hashes"), nil
}

// LoadCache reads the hash cache at path. The cache it returns is always
// usable: a missing file gives an empty one with no error, and a file that
// cannot be read or is corrupt gives an empty one and an error saying why,
// which callers may log and otherwise ignore.
func LoadCache(path string) (*Cache, error) {
	c := &Cache{
		path:       path,
		maxEntries: DefaultMaxEntries,
		start:      time.Now(),
		added:      make(map[string]cacheEntry),
		delta:      make(map[string]cacheEntry),
		whole:      true,
	}
	data, release, err := readCacheFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.pruned, c.parsed = c.start.Unix(), true
		return c, nil
	}
	if err != nil {
		c.parsed = true
		return c, fmt.Errorf("hash cache: %w", err)
	}
	f, err := readMapped(func() (cacheFile, error) { return scanCache(data, nil) })
	if err != nil {
		release()
		c.parsed = true
		c.dirty = true // overwrite the bad file at the next Save
		return c, fmt.Errorf("hash cache %s: %w", path, err)
	}
	c.data, c.release = data, release
	c.pruned, c.count, c.frames, c.whole = f.pruned, f.count, f.frames, !f.clean
	// A push that needs only prepare leaves data to the end of the
	// process; a Cache dropped sooner lets go of it then.
	runtime.AddCleanup(c, func(release func()) { release() }, release)
	return c, nil
}

// readMapped runs read, which reads a mapped cache file, and turns a fault
// into an error: the file was cut short by another program while mapped.
// Without it the fault would end the process.
func readMapped(read func() (cacheFile, error)) (f cacheFile, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			fault, ok := r.(interface{ Addr() uintptr })
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%w: the file changed while it was read (fault at %#x)", errCorrupt, fault.Addr())
		}
	}()
	return read()
}

// dropData lets go of the file's bytes, once they are decoded or found
// bad.
func (c *Cache) dropData() {
	if c.release != nil {
		c.release()
	}
	c.data, c.release = nil, nil
}

// prepare finds the records of the files at paths (absolute) in one walk
// of the file, for lookup. Files it did not look for make lookup decode
// every record.
func (c *Cache) prepare(paths []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parsed {
		return
	}
	if c.prepared == nil {
		c.prepared, c.found = map[string]bool{}, map[string]cacheEntry{}
	}
	want := map[string]bool{}
	for _, p := range paths {
		if !c.prepared[p] {
			want[p] = true
			c.prepared[p] = true
		}
	}
	if len(want) == 0 {
		return
	}
	// The file was checked whole when loaded: only a fault can fail it.
	_, err := readMapped(func() (cacheFile, error) {
		f, _ := scanCache(c.data, func(path []byte, e cacheEntry, _ bool) {
			if want[string(path)] {
				c.found[string(path)] = e
			}
		})
		return f, nil
	})
	if err != nil {
		// Start afresh: what was found may be wrong, and the file is
		// written whole at the next Save.
		c.dropData()
		c.loaded, c.parsed, c.prepared, c.found, c.whole, c.dirty = nil, true, nil, nil, true, true
	}
}

// parse decodes every record of the file into loaded.
func (c *Cache) parse() {
	if c.parsed {
		return
	}
	f, err := readMapped(func() (cacheFile, error) { return decodeCache(c.data) })
	if err != nil { // it was read whole once: changed since
		c.whole, c.dirty = true, true
	}
	c.dropData()
	c.loaded, c.parsed, c.prepared, c.found = f.recs, true, nil, nil
}

// SetMaxEntries changes the bound on the number of entries Save writes.
func (c *Cache) SetMaxEntries(n int) {
	c.mu.Lock()
	c.maxEntries = max(n, 1)
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parse()
	n := len(c.loaded)
	for p := range c.added {
		if _, ok := c.findLocked(p); !ok {
			n++
		}
	}
	return n
}

func (c *Cache) findLocked(abs string) (int, bool) {
	c.parse()
	return slices.BinarySearchFunc(c.loaded, abs, func(r cacheRecord, p string) int { return strings.Compare(r.path, p) })
}

// lookup returns the remembered hash of the file at abs, if fi (its current
// stat) matches what was remembered.
func (c *Cache) lookup(abs string, fi fs.FileInfo) ([32]byte, bool) {
	ino, dev := fileID(fi)
	now := time.Now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.added[abs]
	var i int
	switch {
	case ok:
	case c.prepared[abs]:
		e, ok = c.found[abs]
	default:
		if i, ok = c.findLocked(abs); ok {
			e = c.loaded[i].cacheEntry
		}
	}
	if !ok || e.size != fi.Size() || e.mtime != fi.ModTime().UnixNano() || e.ino != ino || e.dev != dev {
		return [32]byte{}, false
	}
	if now-e.used >= usedStep {
		e.used = now
		if _, inAdded := c.added[abs]; inAdded {
			c.added[abs] = e
		} else if c.prepared[abs] {
			c.found[abs] = e
		} else {
			c.loaded[i].used = now
		}
		c.delta[abs] = e
		c.dirty = true
	}
	return e.sum, true
}

// usedStep is how stale an entry's last use may be before a lookup
// records a new one: pushing the same files again within it writes
// nothing. Last uses only order entries for dropping the oldest, and
// spare entries a run used from its daily check against the disk (which
// the others pass too, being unchanged).
const usedStep = 3600

// store remembers sum for the file at abs whose stat was fi, unless the file
// changed so shortly before readStart that a later change might not show.
func (c *Cache) store(abs string, fi fs.FileInfo, sum [32]byte, readStart time.Time) {
	if !fi.ModTime().Before(readStart.Add(-racyWindow)) {
		return
	}
	ino, dev := fileID(fi)
	e := cacheEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: ino, dev: dev, used: time.Now().Unix(), sum: sum}
	c.mu.Lock()
	c.added[abs] = e
	c.delta[abs] = e
	c.dirty = true
	c.mu.Unlock()
}

// Save writes what changed to the cache file: an update frame appended to
// it, or, when the frames have grown past a share of the base, when
// entries are dropped, or when the file is missing or was unreadable, the
// whole cache, atomically (a temporary file renamed over the old one).
// Entries this run did not use are checked against the disk once a day
// and dropped when their file is gone or changed; past the bound, the
// least recently used go. Two pushes saving at once each append their
// frame, or, writing whole files, the last one wins: the entries lost are
// only hashed again.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	pruneDue := now.Sub(time.Unix(c.pruned, 0)) >= pruneEvery
	// At most this many entries after the save; frames may repeat paths.
	n := c.count + len(c.added)
	if c.parsed {
		n = len(c.loaded) + len(c.added)
	}
	if !c.dirty && !pruneDue && n <= c.maxEntries {
		return nil
	}
	if !c.whole && !pruneDue && n <= c.maxEntries && c.frames+len(c.delta) <= 256+n/8 {
		if err := appendFrame(c.path, encodeFrame(c.delta)); err == nil {
			c.frames += len(c.delta)
			c.count += len(c.delta)
			clear(c.delta)
			c.dirty = false
			return nil
		}
		// Gone or unwritable: write it whole, which says why if it fails.
	}
	c.parse()
	if len(c.added) > 0 {
		c.loaded = mergeRecords(c.loaded, c.added)
		c.added = make(map[string]cacheEntry)
	}
	if pruneDue {
		c.loaded = pruneRecords(c.loaded, c.start.Unix())
		c.pruned = now.Unix()
	}
	if len(c.loaded) > c.maxEntries {
		c.loaded = trimRecords(c.loaded, c.maxEntries)
	}
	data := encodeCache(c.loaded, c.pruned)
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".hashes-*")
	if err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	// No fsync: a file torn by a crash fails its checksum and is ignored,
	// which costs a re-hash, not a wrong answer.
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("hash cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	clear(c.delta)
	c.dirty, c.whole, c.frames, c.count = false, false, 0, len(c.loaded)
	return nil
}

// appendFrame adds frame at the end of the cache file, in one write: two
// pushes appending at once each land whole. There is no fsync, as for
// the whole file.
func appendFrame(path string, frame []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(frame)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// encodeFrame encodes an update frame of entries, in path order.
func encodeFrame(entries map[string]cacheEntry) []byte {
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	buf := []byte{frameUpdate}
	buf = binary.AppendUvarint(buf, uint64(len(paths)))
	for _, p := range paths {
		buf = binary.AppendUvarint(buf, uint64(len(p)))
		buf = append(buf, p...)
		buf = appendEntry(buf, entries[p])
	}
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, crcTable))
}

func appendEntry(buf []byte, e cacheEntry) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(e.size))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(e.mtime))
	buf = binary.LittleEndian.AppendUint64(buf, e.ino)
	buf = binary.LittleEndian.AppendUint64(buf, e.dev)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(e.used))
	return append(buf, e.sum[:]...)
}

func readEntry(b []byte) cacheEntry {
	e := cacheEntry{
		size:  int64(binary.LittleEndian.Uint64(b)),
		mtime: int64(binary.LittleEndian.Uint64(b[8:])),
		ino:   binary.LittleEndian.Uint64(b[16:]),
		dev:   binary.LittleEndian.Uint64(b[24:]),
		used:  int64(binary.LittleEndian.Uint64(b[32:])),
	}
	copy(e.sum[:], b[40:entryFixed])
	return e
}

// mergeRecords returns sorted with added merged in, added winning.
func mergeRecords(sorted []cacheRecord, added map[string]cacheEntry) []cacheRecord {
	keys := make([]string, 0, len(added))
	for p := range added {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	out := make([]cacheRecord, 0, len(sorted)+len(keys))
	i := 0
	for _, k := range keys {
		for i < len(sorted) && sorted[i].path < k {
			out = append(out, sorted[i])
			i++
		}
		if i < len(sorted) && sorted[i].path == k {
			i++
		}
		out = append(out, cacheRecord{k, added[k]})
	}
	return append(out, sorted[i:]...)
}

// pruneRecords drops the records not used since usedSince whose file is
// gone or no longer matches.
func pruneRecords(recs []cacheRecord, usedSince int64) []cacheRecord {
	return slices.DeleteFunc(recs, func(r cacheRecord) bool {
		if r.used >= usedSince {
			return false
		}
		fi, err := os.Stat(r.path)
		if err != nil || !fi.Mode().IsRegular() {
			return true
		}
		ino, dev := fileID(fi)
		return fi.Size() != r.size || fi.ModTime().UnixNano() != r.mtime || ino != r.ino || dev != r.dev
	})
}

// trimRecords keeps the n most recently used records, in path order.
func trimRecords(recs []cacheRecord, n int) []cacheRecord {
	used := make([]int64, len(recs))
	for i, r := range recs {
		used[i] = r.used
	}
	slices.Sort(used)
	cutoff := used[len(used)-n] // the n-th most recent
	above := 0                  // records strictly more recent than cutoff
	for _, u := range used[len(used)-n:] {
		if u > cutoff {
			above++
		}
	}
	ties := n - above // how many records at cutoff still fit
	return slices.DeleteFunc(recs, func(r cacheRecord) bool {
		switch {
		case r.used > cutoff:
			return false
		case r.used == cutoff && ties > 0:
			ties--
			return false
		}
		return true
	})
}

func encodeCache(recs []cacheRecord, pruned int64) []byte {
	pathBytes := 0
	for _, r := range recs {
		pathBytes += len(r.path)
	}
	buf := make([]byte, 0, 32+len(recs)*(entryFixed+16))
	buf = append(buf, cacheMagic...)
	buf = binary.AppendVarint(buf, pruned)
	buf = binary.AppendUvarint(buf, uint64(len(recs)))
	buf = binary.AppendUvarint(buf, uint64(pathBytes))
	prev := ""
	for _, r := range recs {
		p := r.path
		shared := commonPrefix(prev, p)
		buf = binary.AppendUvarint(buf, uint64(shared))
		buf = binary.AppendUvarint(buf, uint64(len(p)-shared))
		buf = append(buf, p[shared:]...)
		buf = appendEntry(buf, r.cacheEntry)
		prev = p
	}
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, crcTable))
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

var errCorrupt = errors.New("corrupt")

// entryFixed is the size of an entry's numbers and SHA-256.
const entryFixed = 5*8 + 32

// maxPath bounds one path, so that a corrupt pathBytes cannot make Load
// reserve gigabytes.
const maxPath = 4096

// cacheFile is what a cache file holds.
type cacheFile struct {
	recs   []cacheRecord // the base with the update frames applied, by path
	pruned int64
	count  int // records in the base and the frames read
	frames int // records in the update frames read
	// clean says the file was read to its end and is of this version:
	// frames may be appended to it.
	clean bool
}

// decodeCache decodes every record of a cache file. All paths are
// written into one string, which the records' paths slice, so that
// loading costs a handful of allocations whatever the count.
func decodeCache(data []byte) (cacheFile, error) {
	var recs []cacheRecord
	var ends []int
	var arena []byte
	if count, pathBytes, ok := baseSizes(data); ok {
		recs, ends, arena = make([]cacheRecord, 0, count), make([]int, 0, count), make([]byte, 0, pathBytes)
	}
	updates := map[string]cacheEntry{}
	f, err := scanCache(data, func(path []byte, e cacheEntry, frame bool) {
		if frame {
			updates[string(path)] = e
			return
		}
		arena = append(arena, path...)
		recs = append(recs, cacheRecord{cacheEntry: e})
		ends = append(ends, len(arena))
	})
	if err != nil {
		return cacheFile{}, err
	}
	all := string(arena)
	start := 0
	for i := range recs {
		recs[i].path = all[start:ends[i]]
		start = ends[i]
	}
	if len(updates) > 0 {
		recs = mergeRecords(recs, updates)
	}
	f.recs = recs
	return f, nil
}

// scanCache walks the records of a cache file, trusting nothing in data:
// every length is checked before use. It calls visit with each record of
// the base, in path order, then with each of the update frames (frame
// true), a later one winning; path is valid during the call only. The base
// must be whole; an update frame that is not ends the walk, and the file
// is not clean.
func scanCache(data []byte, visit func(path []byte, e cacheEntry, frame bool)) (cacheFile, error) {
	pruned, count, rest, err := scanBase(data, visit)
	if err != nil {
		return cacheFile{}, err
	}
	f := cacheFile{pruned: pruned, count: count, clean: bytes.HasPrefix(data, cacheMagic)}
	for len(rest) > 0 {
		n, size, ok := scanFrame(rest, visit)
		if !ok {
			f.clean = false
			break
		}
		f.frames += n
		rest = rest[size:]
	}
	f.count += f.frames
	return f, nil
}

// scanBase walks the base at the start of data, and returns the bytes
// after it.
func scanBase(data []byte, visit func(path []byte, e cacheEntry, frame bool)) (int64, int, []byte, error) {
	magic := cacheMagic
	if bytes.HasPrefix(data, cacheMagicV1) {
		magic = cacheMagicV1
	}
	if len(data) < len(magic)+4 || !bytes.Equal(data[:len(magic)], magic) {
		return 0, 0, nil, fmt.Errorf("%w: not a hash cache, or another version", errCorrupt)
	}
	d := decoder{b: data[len(magic):]}
	pruned := d.varint()
	count := d.uvarint()
	pathBytes := d.uvarint()
	// A count beyond what the bytes can hold is a lie.
	if d.err != nil || count > uint64(len(d.b))/(entryFixed+2) || pathBytes > count*maxPath {
		return 0, 0, nil, fmt.Errorf("%w: bad header", errCorrupt)
	}
	// The checksum first: visit must see only checked records.
	left, ok := baseLeft(d, count)
	if !ok {
		return 0, 0, nil, fmt.Errorf("%w: truncated", errCorrupt)
	}
	end := len(data) - left
	if crc32.Checksum(data[:end], crcTable) != binary.LittleEndian.Uint32(data[end:]) {
		return 0, 0, nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	var path []byte // the previous record's, then this one's
	var total uint64
	for i := range count {
		shared, n := d.uvarint(), d.uvarint()
		if d.err != nil || shared > uint64(len(path)) || n > uint64(len(d.b)) || total+shared+n > pathBytes {
			return 0, 0, nil, fmt.Errorf("%w: bad path", errCorrupt)
		}
		// Sorted, without duplicates, or binary search fails: past the
		// shared prefix, the path must go on, and with a greater byte
		// than the previous one's.
		if i > 0 && (n == 0 || shared < uint64(len(path)) && d.b[0] <= path[shared]) {
			return 0, 0, nil, fmt.Errorf("%w: entries out of order", errCorrupt)
		}
		path = append(path[:shared], d.b[:n]...)
		total += shared + n
		d.b = d.b[n:]
		if len(d.b) < entryFixed {
			return 0, 0, nil, fmt.Errorf("%w: truncated entry", errCorrupt)
		}
		if visit != nil {
			visit(path, readEntry(d.b), false)
		}
		d.b = d.b[entryFixed:]
	}
	if total != pathBytes {
		return 0, 0, nil, fmt.Errorf("%w: paths of another length than said", errCorrupt)
	}
	if len(d.b) < 4 {
		return 0, 0, nil, fmt.Errorf("%w: truncated", errCorrupt)
	}
	if bytes.Equal(magic, cacheMagicV1) && len(d.b) != 4 {
		return 0, 0, nil, fmt.Errorf("%w: trailing bytes", errCorrupt)
	}
	return pruned, int(count), d.b[4:], nil
}

// baseSizes reads the count of records and of path bytes a base says it
// has, bounded by what data can hold, to size what decoding it takes.
func baseSizes(data []byte) (count, pathBytes int, ok bool) {
	magic := cacheMagic
	if bytes.HasPrefix(data, cacheMagicV1) {
		magic = cacheMagicV1
	}
	if !bytes.HasPrefix(data, magic) {
		return 0, 0, false
	}
	d := decoder{b: data[len(magic):]}
	d.varint()
	c, p := d.uvarint(), d.uvarint()
	if d.err != nil || c > uint64(len(d.b))/(entryFixed+2) || p > c*maxPath {
		return 0, 0, false
	}
	return int(c), int(p), true
}

// baseLeft skips count records from d at the first, checking lengths
// only, and returns how many bytes are left after them: the checksum's
// four, and the frames.
func baseLeft(d decoder, count uint64) (int, bool) {
	for range count {
		d.uvarint()
		n := d.uvarint()
		if d.err != nil || n+entryFixed > uint64(len(d.b)) {
			return 0, false
		}
		d.b = d.b[n+entryFixed:]
	}
	if len(d.b) < 4 {
		return 0, false
	}
	return len(d.b), true
}

// scanFrame walks the update frame at the start of b, if it is whole, and
// returns its count of records and its size.
func scanFrame(b []byte, visit func(path []byte, e cacheEntry, frame bool)) (int, int, bool) {
	if len(b) == 0 || b[0] != frameUpdate {
		return 0, 0, false
	}
	d := decoder{b: b[1:]}
	count := d.uvarint()
	if d.err != nil || count > uint64(len(d.b))/(entryFixed+2) {
		return 0, 0, false
	}
	body := d
	for range count {
		n := d.uvarint()
		if d.err != nil || n == 0 || n > maxPath || n+entryFixed > uint64(len(d.b)) {
			return 0, 0, false
		}
		d.b = d.b[n+entryFixed:]
	}
	end := len(b) - len(d.b)
	if len(d.b) < 4 || crc32.Checksum(b[:end], crcTable) != binary.LittleEndian.Uint32(d.b) {
		return 0, 0, false
	}
	if visit != nil {
		for range count {
			n := body.uvarint()
			visit(body.b[:n], readEntry(body.b[n:]), true)
			body.b = body.b[n+entryFixed:]
		}
	}
	return int(count), end + 4, true
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) > 0 && d.b[0] < 0x80 {
		v := uint64(d.b[0])
		d.b = d.b[1:]
		return v
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}
