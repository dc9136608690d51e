//go:build unix

package push

import (
	"os"
	"testing"
)

// A cache file cut short by another program while a push has it mapped
// is a cache miss, not a crash, and is written whole at the next Save.
func TestCacheFileCutShortWhileMapped(t *testing.T) {
	for _, step := range []string{"prepare", "parse"} {
		t.Run(step, func(t *testing.T) {
			cachePath, a, b := syntheticCache(t, 2000)
			c, err := LoadCache(cachePath)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(cachePath, 0); err != nil {
				t.Fatal(err)
			}
			if step == "prepare" {
				if h := hashOne(t, a, c); h.Cached {
					t.Fatal("found in a file that was cut short")
				}
			} else if n := c.Len(); n != 0 {
				t.Fatalf("%d entries decoded from a file that was cut short", n)
			}
			hashOne(t, b, c)
			if err := c.Save(); err != nil {
				t.Fatal(err)
			}
			c, err = LoadCache(cachePath)
			if err != nil {
				t.Fatalf("the file written after: %v", err)
			}
			if h := hashOne(t, b, c); !h.Cached {
				t.Error("the file written after does not have what was hashed since")
			}
		})
	}
}
