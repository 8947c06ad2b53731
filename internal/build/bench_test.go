package build

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// benchPages is the number of pages a benchmark builds: def, or
// $CONCLAVE_BENCH_PAGES.
func benchPages(b *testing.B, def int) int {
	if v := os.Getenv("CONCLAVE_BENCH_PAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("CONCLAVE_BENCH_PAGES=%q: want a number of pages", v)
		}
		return n
	}
	return def
}

// BenchmarkSessionEdit times one rebuild of a preview session after an
// edit to a briefing's body, on a generated 5,000-page site
// ($CONCLAVE_BENCH_PAGES pages if set): what conclave serve does between
// a save and the reload. The time from the write to the reload, watcher
// included, is serve's BenchmarkLiveReload.
func BenchmarkSessionEdit(b *testing.B) {
	src := benchCorpus(b, corpus.Options{Pages: benchPages(b, 5000), Seed: 1})
	sess := NewSession(Options{Source: src, Preview: true})
	if _, _, err := sess.Build(nil); err != nil {
		b.Fatal(err)
	}
	var rel string
	filepath.WalkDir(filepath.Join(src, "content"), func(p string, d os.DirEntry, err error) error {
		if rel == "" && filepath.Ext(p) == ".md" && filepath.Base(p) != "_index.md" {
			rel, _ = filepath.Rel(src, p)
		}
		return nil
	})
	orig, err := os.ReadFile(filepath.Join(src, rel))
	if err != nil {
		b.Fatal(err)
	}
	changed := []string{filepath.ToSlash(rel)}
	i := 0
	for b.Loop() {
		i++
		body := fmt.Appendf(append([]byte(nil), orig...), "\nEdit number %d at the end of the body.\n", i)
		if err := os.WriteFile(filepath.Join(src, rel), body, 0o644); err != nil {
			b.Fatal(err)
		}
		rep, _, err := sess.Build(changed)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Reused == 0 {
			b.Fatal("nothing reused")
		}
	}
}
