package service

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/packhouse/packhouse/internal/meta"
)

// chunkCache keeps the bytes of recently used index chunks in memory,
// within a budget: a publish hashes the chunks after the first changed
// one, and reading them back from the database on every publish would cost
// more than the change.
type chunkCache struct {
	mu     sync.Mutex
	budget int
	size   int
	lru    *list.List // front: most recent; values *chunkEntry
	m      map[string]*list.Element
}

type chunkEntry struct {
	key     string
	raw, gz []byte
}

const chunkCacheBytes = 256 << 20

func (c *chunkCache) init() {
	c.budget = chunkCacheBytes
	c.lru = list.New()
	c.m = map[string]*list.Element{}
}

func (c *chunkCache) get(key string) (*chunkEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*chunkEntry), true
}

func (c *chunkCache) put(key string, raw, gz []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		ce := e.Value.(*chunkEntry)
		if ce.raw == nil && raw != nil {
			ce.raw = raw
			c.size += len(raw)
		}
		if ce.gz == nil && gz != nil {
			ce.gz = gz
			c.size += len(gz)
		}
		c.lru.MoveToFront(e)
	} else {
		c.m[key] = c.lru.PushFront(&chunkEntry{key: key, raw: raw, gz: gz})
		c.size += len(raw) + len(gz)
	}
	for c.size > c.budget && c.lru.Len() > 1 {
		last := c.lru.Back()
		ce := last.Value.(*chunkEntry)
		c.size -= len(ce.raw) + len(ce.gz)
		delete(c.m, ce.key)
		c.lru.Remove(last)
	}
}

// chunkBytes returns the plain or gzip bytes of chunks, from memory or,
// for those not there, from the database in one query.
func (s *Service) chunkBytes(ctx context.Context, keys []string, gzip bool) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	var missing []string
	for _, k := range keys {
		if e, ok := s.chunks.get(k); ok {
			if b := e.part(gzip); b != nil {
				out[k] = b
				continue
			}
		}
		missing = append(missing, k)
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := s.meta.ChunkData(ctx, missing, gzip)
	if err != nil {
		return nil, err
	}
	if !gzip {
		if err := s.unstoredRaw(ctx, got); err != nil {
			return nil, err
		}
	}
	for _, k := range missing {
		b, ok := got[k]
		if !ok {
			return nil, fmt.Errorf("index chunk %s: %w", k, meta.ErrNotFound)
		}
		out[k] = b
		if gzip {
			s.chunks.put(k, nil, b)
		} else {
			s.chunks.put(k, b, nil)
		}
	}
	return out, nil
}

// unstoredRaw fills in the plain text of the chunks in raw that were
// stored as their gzip member only (storedChunks), by decompressing it.
func (s *Service) unstoredRaw(ctx context.Context, raw map[string][]byte) error {
	var keys []string
	for k, b := range raw {
		if len(b) == 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	gzs, err := s.meta.ChunkData(ctx, keys, true)
	if err != nil {
		return err
	}
	for _, k := range keys {
		gz := gzs[k]
		if len(gz) == 0 {
			continue // a chunk stored plain, and empty
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return fmt.Errorf("index chunk %s: %w", k, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("index chunk %s: %w", k, err)
		}
		raw[k] = b
	}
	return nil
}

func (e *chunkEntry) part(gzip bool) []byte {
	if gzip {
		return e.gz
	}
	return e.raw
}
