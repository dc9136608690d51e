//go:build !linux

package fs

import (
	"errors"
	"os"
)

var errNoUnnamed = errors.New("unnamed files are not supported on this system")

func createUnnamed(string) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(*os.File, string) error { return errNoUnnamed }

var errNoSyncfs = errors.New("syncfs is not supported on this system")

func syncFilesystem(string) error { return errNoSyncfs }
