//go:build !unix

package pkgtar

import (
	"io"
	"os"
)

// openSource opens a source file for one sequential read.
func openSource(name string) (io.ReadCloser, error) { return os.Open(name) }
