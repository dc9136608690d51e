package mem_test

import (
	"testing"

	"github.com/packhouse/packhouse/internal/blob"
	"github.com/packhouse/packhouse/internal/blob/blobtest"
	"github.com/packhouse/packhouse/internal/blob/mem"
)

func TestStore(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Store { return mem.New() })
}
