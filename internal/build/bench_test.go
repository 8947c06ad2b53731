package build

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/seal"
)

// BenchmarkBuild builds generated corpora of several sizes, to disk and to
// memory. The comparison with Hugo on the same markdown is .ci/bench/run;
// figures are in docs/benchmarks.md.
func BenchmarkBuild(b *testing.B) {
	for _, pages := range []int{100, 1000, 5000} {
		src := benchCorpus(b, corpus.Options{Pages: pages, Seed: 1})
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

// BenchmarkBuildSealed builds the corpus of the sealing benchmark: 30% of
// the pages hold one to three restricted blocks, for 200 recipients. Cold
// builds start without the seal cache; warm ones rebuild the unchanged
// site with it.
func BenchmarkBuildSealed(b *testing.B) {
	for _, pages := range []int{1000, 5000} {
		src := benchCorpus(b, corpus.Options{Pages: pages, Seed: 1, Recipients: 200, Restricted: 0.3})
		key := make([]byte, seal.KeySize)
		rand.Read(key)
		out := filepath.Join(b.TempDir(), "public")
		b.Run(fmt.Sprintf("pages=%d/cold", pages), func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(Options{Source: src, Out: out}); err != nil {
					b.Fatal(err)
				}
			}
		})
		if _, err := Run(Options{Source: src, Out: out, CacheKey: key}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("pages=%d/warm", pages), func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(Options{Source: src, Out: out, CacheKey: key}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchCorpus(b *testing.B, opt corpus.Options) string {
	b.Helper()
	src := filepath.Join(b.TempDir(), "site")
	if err := corpus.Write(src, opt); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "conclave.toml"), []byte("title = \"Bench\"\nbaseURL = \"https://bench.example.org/\"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return src
}
