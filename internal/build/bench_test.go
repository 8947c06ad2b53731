package build

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	n, err := corpus.BenchPages(def)
	if err != nil {
		b.Fatal(err)
	}
	return n
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

// BenchmarkSearchShare builds the sealing benchmark's corpus (30% of the
// pages with one to three restricted blocks, 200 recipients; 5,000 pages,
// or $CONCLAVE_BENCH_PAGES) and reports what each audience's sealed index
// weighs against its share of the text: words indexed and bytes published,
// for the public index and each sealed one. A member's search loads the
// sealed index of each audience they belong to (its root packet, and the
// shards of the words typed when it is split); the public index is loaded
// a shard at a time. Its table is in docs/benchmarks.md.
func BenchmarkSearchShare(b *testing.B) {
	src := benchCorpus(b, corpus.Options{Pages: benchPages(b, 5000), Seed: 1, Recipients: 200, Restricted: 0.3})
	out := filepath.Join(b.TempDir(), "public")
	var rep *Report
	for b.Loop() {
		var err error
		if rep, err = Run(Options{Source: src, Out: out}); err != nil {
			b.Fatal(err)
		}
	}
	s := rep.Search
	if len(s.Sealed) == 0 || s.Words == 0 {
		b.Fatalf("no sealed index: %+v", s)
	}
	sealedWords, sealedBytes := 0, int64(0)
	var words, bytes, perWord []float64
	for _, a := range s.Sealed {
		sealedWords += a.Words
		sealedBytes += a.Bytes
		words = append(words, float64(a.Words))
		bytes = append(bytes, float64(a.Bytes))
		perWord = append(perWord, float64(a.Bytes)/float64(a.Words))
	}
	q := func(v []float64) string {
		slices.Sort(v)
		return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", v[0], v[len(v)/2], v[len(v)*9/10], v[len(v)-1])
	}
	all := float64(s.Words + sealedWords)
	b.Logf("public index: %d documents, %d words (%.1f%% of the site's), %d bytes, %.2f B a word",
		s.Docs, s.Words, 100*float64(s.Words)/all, s.Bytes, float64(s.Bytes)/float64(s.Words))
	b.Logf("sealed indexes: %d audiences, %d words (%.1f%%), %d bytes, %.2f B a word",
		len(s.Sealed), sealedWords, 100*float64(sealedWords)/all, sealedBytes, float64(sealedBytes)/float64(sealedWords))
	b.Logf("an audience's index, min / median / 90th percentile / max: words %s; bytes %s; bytes a word %s",
		q(words), q(bytes), q(perWord))
	b.ReportMetric(float64(s.Bytes)/float64(s.Words), "B/word-public")
	b.ReportMetric(float64(sealedBytes)/float64(sealedWords), "B/word-sealed")
	b.ReportMetric(slices.Max(perWord), "B/word-sealed-max")
}
