package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/packhouse/packhouse/internal/meta"
	"github.com/packhouse/packhouse/internal/meta/metatest"
	"github.com/packhouse/packhouse/internal/meta/sqlite"
)

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, "server", "master"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path) // migrations already applied
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Project(ctx, "server"); err != nil {
		t.Fatal(err)
	}
}
