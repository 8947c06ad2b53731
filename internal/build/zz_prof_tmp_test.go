package build

import (
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/cache"
)

func TestZZProfileWarm(t *testing.T) {
	src := os.Getenv("PROF_SITE")
	if src == "" {
		t.Skip()
	}
	key, _ := cache.LoadKey("/dev/shm/home/.config/conclave/cache.key")
	opt := Options{Source: src, Out: "/dev/shm/c5out", CacheKey: key}
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create("/tmp/warm.prof")
	pprof.StartCPUProfile(f)
	for range 4 {
		st := time.Now()
		if _, err := Run(opt); err != nil {
			t.Fatal(err)
		}
		t.Log(time.Since(st))
	}
	pprof.StopCPUProfile()
}
