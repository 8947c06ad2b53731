package serve_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/corpus"
)

// BenchmarkLiveReload times, on a generated 5,000-page site
// ($CONCLAVE_BENCH_PAGES pages if set) served as the author's preview, the time from writing an edit to a briefing's body to
// the reload event reaching an open page, and the heap in use (after a
// collection) before the edits, after the first (which keeps what the
// next edits patch) and after the last. Run it with -benchtime
// 1000x for the memory figure over 1,000 edits:
//
//	go test ./internal/serve -run XXX -bench LiveReload -benchtime 1000x
func BenchmarkLiveReload(b *testing.B) {
	pages, err := corpus.BenchPages(5000)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := corpus.Write(dir, corpus.Options{Pages: pages, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conclave.toml"), []byte("title = \"Bench\"\nbaseURL = \"https://bench.example.org/\"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	s := startLiveAt(b, dir, true)
	next := s.events(b)
	next() // hello
	var page string
	filepath.WalkDir(filepath.Join(dir, "content"), func(p string, d os.DirEntry, err error) error {
		if page == "" && filepath.Ext(p) == ".md" && filepath.Base(p) != "_index.md" {
			page = p
		}
		return nil
	})
	orig, err := os.ReadFile(page)
	if err != nil {
		b.Fatal(err)
	}
	var before, first, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var total, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		body := append(append([]byte(nil), orig...), fmt.Sprintf("\nEdit number %d at the end of the body.\n", i)...)
		t0 := time.Now()
		if err := os.WriteFile(page, body, 0o644); err != nil {
			b.Fatal(err)
		}
		for {
			name, _ := next()
			if name == "reload" {
				break
			}
			if name == "failed" {
				b.Fatal("the edit failed to build")
			}
		}
		d := time.Since(t0)
		total += d
		worst = max(worst, d)
		<-s.rebuilt
		if i == 0 {
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&first)
			b.StartTimer()
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/write-to-reload")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms/worst")
	b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "MiB-heap-before")
	b.ReportMetric(float64(first.HeapAlloc)/(1<<20), "MiB-heap-first")
	b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "MiB-heap-after")
}
