package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/cache"
)

// cacheKeyEnv names the environment variable that holds the seal cache's
// key in CI, where the user's configuration folder does not persist.
const cacheKeyEnv = "CONCLAVE_CACHE_KEY"

// cacheKey returns the key of the seal cache: CONCLAVE_CACHE_KEY, or the
// key in the user's configuration folder, made on first use. Without a
// usable key the build goes on without the cache, with a warning.
func cacheKey(cmd *cobra.Command) []byte {
	warn := func(format string, args ...any) []byte {
		fmt.Fprintf(cmd.ErrOrStderr(), "conclave: warning: "+format+"; building without the seal cache (every block is encrypted anew)\n", args...)
		return nil
	}
	if v, ok := os.LookupEnv(cacheKeyEnv); ok {
		key, err := cache.ParseKey(v)
		if err != nil {
			return warn("%s: %v", cacheKeyEnv, err)
		}
		return key
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return warn("no folder for the cache key (%v): set %s", err, cacheKeyEnv)
	}
	key, err := cache.LoadKey(filepath.Join(dir, "conclave", "cache.key"))
	if err != nil {
		return warn("cache key: %v", err)
	}
	return key
}
