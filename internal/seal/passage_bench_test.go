package seal

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/site"
)

// BenchmarkPassages measures what sealing costs per passage on the dense
// corpus of the comparison with Hugo (gencorpus -n 2000 -seed 1
// -recipients 200 -restricted 0.9: about 3,600 passages for 200
// recipients; CONCLAVE_BENCH_PAGES sets the number of pages), against
// its floor:
//
//   - floor: what no sealing can avoid for a passage, and nothing else:
//     render its markdown to HTML, pad it, and encrypt it with age to its
//     audience's key (one X25519 wrap, a fresh file key).
//   - seal/workers=N: [Sealer.Seal] of every page, on N goroutines as
//     the build does (N = par.IO()) or on one: the same, plus the cache
//     keys, the packet's name, the placeholder and the leak scan's texts.
//
// Each reports, per passage, the processor time (which other work on a
// shared machine inflates less than the wall time), the bytes and the
// allocations. Parsing and planning are not timed; keyrings are
// BenchmarkKeyrings'. seal minus floor is what sealing costs above it.
//
//	go test ./internal/seal -run '^$' -bench Passages -benchtime 5x
func BenchmarkPassages(b *testing.B) {
	src := denseCorpus(b)
	st, err := site.Load(src, site.Options{})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := audience.Load(src, audience.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	conv := newConv(b)
	discard := func(string, []byte) error { return nil }
	b.Run("floor", func(b *testing.B) {
		benchPassages(b, st, reg, conv, func(s *Sealer, docs []*markdown.Doc) error {
			var buf htmlBuffer
			for _, d := range docs {
				// Inner blocks first: an outer block renders their
				// placeholders.
				for i := len(d.Blocks) - 1; i >= 0; i-- {
					blk := d.Blocks[i]
					buf.Reset()
					if err := conv.RenderChildren(&buf, d, blk); err != nil {
						return err
					}
					if _, err := encrypt(buf.padded(), s.keys[s.plan.Of(blk).ID].recipient); err != nil {
						return err
					}
					restricted.Replace(blk, &restricted.Sealed{Packet: "packets/x.age"})
					s.stats.Blocks++
				}
			}
			return nil
		})
	})
	for _, workers := range []int{1, par.IO()} {
		b.Run(fmt.Sprintf("seal/workers=%d", workers), func(b *testing.B) {
			benchPassages(b, st, reg, conv, func(s *Sealer, docs []*markdown.Doc) error {
				if errs := par.Each(len(docs), workers, func(i int) error {
					_, err := s.Seal(docs[i], discard)
					return err
				}); len(errs) > 0 {
					return errs[0]
				}
				return nil
			})
		})
	}
}

// benchPassages times seal over the restricted pages of st, parsed and
// planned anew (untimed) for each round, and reports per passage.
func benchPassages(b *testing.B, st *site.Site, reg *audience.Registry, conv *markdown.Converter, seal func(*Sealer, []*markdown.Doc) error) {
	var (
		cpu                    time.Duration
		passages               int
		mallocs, bytes         uint64
		before, after          runtime.MemStats
		docs                   []*markdown.Doc
		audiences, restrictedP int
	)
	for b.Loop() {
		// Sealing replaces the blocks of the tree: parse anew, untimed.
		b.StopTimer()
		docs = docs[:0]
		for _, p := range st.Pages {
			if d := conv.Parse(p, nil); len(d.Blocks) > 0 {
				docs = append(docs, d)
			}
		}
		restrictedP = len(docs)
		plan, err := NewPlan(docs, reg, st.Config)
		if err != nil {
			b.Fatal(err)
		}
		audiences = len(plan.audiences)
		s, err := NewSealer(plan, conv, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := cpuTime()
		b.StartTimer()

		if err := seal(s, docs); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		cpu += cpuTime() - start
		runtime.ReadMemStats(&after)
		mallocs += after.Mallocs - before.Mallocs
		bytes += after.TotalAlloc - before.TotalAlloc
		passages = s.Stats().Blocks
		b.StartTimer()
	}
	n := float64(b.N * passages)
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/n, "cpu-µs/passage")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/n, "µs/passage")
	b.ReportMetric(float64(mallocs)/n, "allocs/passage")
	b.ReportMetric(float64(bytes)/n, "B/passage")
	b.ReportMetric(float64(passages), "passages")
	b.ReportMetric(float64(audiences), "audiences")
	b.ReportMetric(float64(restrictedP), "pages")
}

// denseCorpus writes the dense corpus of 2,000 pages
// ($CONCLAVE_BENCH_PAGES if set) into a temporary folder, on tmpfs when
// /dev/shm exists, removed when b ends.
func denseCorpus(b *testing.B) string {
	b.Helper()
	pages := 2000
	if v := os.Getenv("CONCLAVE_BENCH_PAGES"); v != "" {
		if _, err := fmt.Sscan(v, &pages); err != nil || pages < 1 {
			b.Fatalf("CONCLAVE_BENCH_PAGES=%q: want a number of pages", v)
		}
	}
	dir := tmpDir(b)
	if err := corpus.Write(dir, corpus.Options{Pages: pages, Seed: 1, Recipients: 200, Restricted: 0.9}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conclave.toml"), []byte("title = \"Bench\"\nbaseURL = \"https://bench.example.org/\"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// tmpDir makes a temporary folder, on tmpfs when /dev/shm exists (so that
// writing files costs what the file system's code costs, not a disk),
// removed when b ends.
func tmpDir(b *testing.B) string {
	b.Helper()
	parent := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "conclave-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// For BenchmarkBuildDense, in package seal_test.
var (
	DenseCorpusForBench = denseCorpus
	TmpDirForBench      = tmpDir
	CPUTimeForBench     = cpuTime
)
