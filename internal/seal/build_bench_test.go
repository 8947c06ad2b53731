package seal_test

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/seal"
)

// BenchmarkBuildDense builds the dense corpus of BenchmarkPassages whole,
// cold (no seal cache), into a temporary folder (tmpfs when /dev/shm
// exists), and its plain twin: the same markdown without the opening and
// closing lines of its restricted blocks and without keys/, all public,
// as another site generator would build it. The sealed build reports per
// passage its processor time, bytes and allocations; the plain one, what
// the sealed build cost more per passage (run both in one command).
//
//	go test ./internal/seal -run '^$' -bench BuildDense -benchtime 3x
func BenchmarkBuildDense(b *testing.B) {
	src := seal.DenseCorpusForBench(b)
	plain := plainTwin(b, src)
	var (
		sealedCPU float64 // µs per sealed build
		passages  int
	)
	for _, c := range []struct{ name, src string }{{"sealed", src}, {"plain", plain}} {
		b.Run(c.name, func(b *testing.B) {
			out := filepath.Join(seal.TmpDirForBench(b), "public")
			var (
				cpu            time.Duration
				mallocs, bytes uint64
				before, after  runtime.MemStats
				blocks         int
			)
			for b.Loop() {
				runtime.ReadMemStats(&before)
				start := seal.CPUTimeForBench()
				rep, err := build.Run(build.Options{Source: c.src, Out: out})
				if err != nil {
					b.Fatal(err)
				}
				cpu += seal.CPUTimeForBench() - start
				runtime.ReadMemStats(&after)
				mallocs += after.Mallocs - before.Mallocs
				bytes += after.TotalAlloc - before.TotalAlloc
				blocks = rep.Seal.Blocks
			}
			perBuild := float64(cpu.Microseconds()) / float64(b.N)
			b.ReportMetric(perBuild/1e3, "cpu-ms/build")
			b.ReportMetric(float64(mallocs)/float64(b.N), "allocs/build")
			b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MiB/build")
			switch {
			case blocks > 0:
				sealedCPU, passages = perBuild, blocks
				n := float64(b.N * blocks)
				b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/passage")
				b.ReportMetric(float64(mallocs)/n, "allocs/passage")
				b.ReportMetric(float64(bytes)/n, "B/passage")
				b.ReportMetric(float64(blocks), "passages")
			case passages > 0:
				b.ReportMetric((sealedCPU-perBuild)/float64(passages), "extra-cpu-µs/passage")
			}
		})
	}
}

// fenceLine is a restricted block's opening or closing line.
var fenceLine = regexp.MustCompile(`(?m)^ {0,3}:{3,}.*\n`)

// plainTwin copies the site at src without keys/ and without the opening
// and closing lines of restricted blocks.
func plainTwin(b *testing.B, src string) string {
	b.Helper()
	dst := seal.TmpDirForBench(b)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "keys" {
			return filepath.SkipDir
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".md") {
			data = fenceLine.ReplaceAll(data, nil)
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
	return dst
}
