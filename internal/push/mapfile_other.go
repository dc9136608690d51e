//go:build !unix

package push

import "os"

// readCacheFile reads the cache file into memory.
func readCacheFile(path string) (data []byte, release func(), err error) {
	data, err = os.ReadFile(path)
	return data, func() {}, err
}
