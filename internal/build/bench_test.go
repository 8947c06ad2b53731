package build

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/conclave-dev/conclave/internal/corpus"
)

// BenchmarkBuild builds generated corpora of several sizes, to disk and to
// memory. The comparison with Hugo on the same markdown is .ci/bench/run;
// figures are in docs/benchmarks.md.
func BenchmarkBuild(b *testing.B) {
	for _, pages := range []int{100, 1000, 5000} {
		src := filepath.Join(b.TempDir(), "site")
		if err := corpus.Write(src, corpus.Options{Pages: pages, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "conclave.toml"), []byte("title = \"Bench\"\nbaseURL = \"https://bench.example.org/\"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("pages=%d/disk", pages), func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "public")
			for b.Loop() {
				if _, err := Run(Options{Source: src, Out: out}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pages), "pages")
		})
		b.Run(fmt.Sprintf("pages=%d/memory", pages), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := Memory(Options{Source: src}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
