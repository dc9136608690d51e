package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/packhouse/packhouse/internal/meta"
)

// tokenPrefix marks packhouse tokens, so that secret scanners can find
// leaked ones.
const tokenPrefix = "phk_"

// HashToken is how a token is stored: its SHA-256. Tokens are 256 random
// bits, so a plain hash is enough; no salt or slow hash is needed.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a token and returns it with its secret, which is
// shown once and never stored.
func (s *Service) CreateToken(ctx context.Context, kind meta.TokenKind, projects []string, description string) (meta.Token, string, error) {
	switch kind {
	case meta.TokenAdmin, meta.TokenRead:
		if len(projects) > 0 {
			return meta.Token{}, "", fmt.Errorf("%s tokens are not scoped to projects: %w", kind, ErrInvalidName)
		}
	case meta.TokenUpload:
		if len(projects) == 0 {
			return meta.Token{}, "", fmt.Errorf("an upload token needs at least one project: %w", ErrInvalidName)
		}
		for _, p := range projects {
			if _, err := s.meta.Project(ctx, p); err != nil {
				return meta.Token{}, "", err
			}
		}
	default:
		return meta.Token{}, "", fmt.Errorf("token kind %q: want admin, upload or read: %w", kind, ErrInvalidName)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return meta.Token{}, "", err
	}
	secret := tokenPrefix + hex.EncodeToString(raw[:])
	t, err := s.meta.CreateToken(ctx, meta.Token{Hash: HashToken(secret), Kind: kind, Projects: projects, Description: description})
	return t, secret, err
}

// Authenticate finds the token of a secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (meta.Token, error) {
	if secret == "" {
		return meta.Token{}, fmt.Errorf("no token: %w", ErrUnauthorized)
	}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) != len(tokenPrefix)+64 {
		return meta.Token{}, fmt.Errorf("not a packhouse token: %w", ErrUnauthorized)
	}
	// The lookup is by hash, so its timing says nothing about the secret.
	hash := HashToken(secret)
	if t, ok := s.tokens.get(hash, s.cfg.Now()); ok {
		return t, nil
	}
	t, err := s.meta.TokenByHash(ctx, hash)
	if errors.Is(err, meta.ErrNotFound) {
		return t, fmt.Errorf("unknown token: %w", ErrUnauthorized)
	}
	if err == nil {
		s.tokens.put(hash, t, s.cfg.Now())
	}
	return t, err
}

// tokenCache keeps tokens looked up in the last tokenTTL: a CI job pushing
// thousands of packages would otherwise read its token from the database
// once per package. A token deleted on another server stays usable here
// for at most tokenTTL.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	t       meta.Token
	expires time.Time
}

const (
	tokenTTL      = 30 * time.Second
	tokenCacheMax = 4096
)

func (c *tokenCache) get(hash string, now time.Time) (meta.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.expires) {
		return meta.Token{}, false
	}
	return e.t, true
}

func (c *tokenCache) put(hash string, t meta.Token, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= tokenCacheMax {
		c.m = map[string]cachedToken{}
	}
	c.m[hash] = cachedToken{t: t, expires: now.Add(tokenTTL)}
}

func (c *tokenCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.t.ID == id {
			delete(c.m, h)
		}
	}
}

// DeleteToken revokes a token.
func (s *Service) DeleteToken(ctx context.Context, id int64) error {
	if err := s.meta.DeleteToken(ctx, id); err != nil {
		return err
	}
	s.tokens.forget(id)
	return nil
}

// MayPush reports whether a token may push to a project.
func MayPush(t meta.Token, project string) error {
	if t.Kind == meta.TokenAdmin || (t.Kind == meta.TokenUpload && slices.Contains(t.Projects, project)) {
		return nil
	}
	return fmt.Errorf("token %d may not push to project %q: %w", t.ID, project, ErrForbidden)
}

// MayAdmin reports whether a token may manage projects, repositories and
// tokens.
func MayAdmin(t meta.Token) error {
	if t.Kind == meta.TokenAdmin {
		return nil
	}
	return fmt.Errorf("token %d is not an admin token: %w", t.ID, ErrForbidden)
}
