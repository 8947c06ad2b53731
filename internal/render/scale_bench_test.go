package render

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
)

// scaleViews returns n views shaped like those of a generated corpus
// (internal/corpus): five sections, one to four tags from a pool of 60
// drawn with a Zipf law, a summary of about 25 words, a TLP label, and
// dates over twenty years. The same n gives the same views.
func scaleViews(n int) []*PageView {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	z := rand.NewZipf(r, 1.1, 2, 59)
	words := strings.Fields("the actor used a loader to reach the update server and staged a second payload on hosts of the finance network before the vendor shipped a fix")
	labels := []*TLPView{{Display: "TLP:CLEAR", Class: "clear", Meaning: "Disclosure is not limited."}, {Display: "TLP:GREEN", Class: "green", Meaning: "Limited disclosure, restricted to the community."}}
	start := time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC)
	views := make([]*PageView, n)
	for i := range views {
		sec := fmt.Sprintf("section-%d", 1+r.IntN(5))
		rel := fmt.Sprintf("%s/page-%06d/", sec, i+1)
		day := start.AddDate(0, 0, r.IntN(8760))
		v := &PageView{
			Path: "content/" + strings.TrimSuffix(rel, "/") + ".md", URL: "/" + rel, Rel: rel,
			Title: fmt.Sprintf("Briefing %d on the %s campaign", i+1, words[r.IntN(len(words))]),
			Date:  dateView(day), Time: day, Section: sec, TLP: labels[r.IntN(len(labels))],
		}
		var sum []string
		for range 25 {
			sum = append(sum, words[r.IntN(len(words))])
		}
		v.Summary = strings.Join(sum, " ")
		seen := map[uint64]bool{}
		for range 1 + r.IntN(4) {
			k := z.Uint64()
			if seen[k] {
				continue
			}
			seen[k] = true
			slug := fmt.Sprintf("tag-%02d", k)
			v.Tags = append(v.Tags, TagRef{Name: slug, Slug: slug, Rel: "tags/" + slug + "/"})
		}
		views[i] = v
	}
	return views
}

// BenchmarkListsScale renders every list page (home, sections, tags, the
// tag index) of sites of several sizes, with digests computed as a build
// with the page cache does. Its costs per briefing (ns/page, allocs/page,
// B/page) should not grow with the site: compare the sizes.
func BenchmarkListsScale(b *testing.B) {
	th, err := LoadTheme(b.TempDir(), "default")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{5000, 50000} {
		views := scaleViews(n)
		r := &Renderer{theme: th, view: &SiteView{Title: "Bench", Language: "en", BaseURL: "https://bench.example.org/"}}
		for i := 1; i <= 5; i++ {
			name := fmt.Sprintf("section-%d", i)
			r.view.Sections = append(r.view.Sections, SectionRef{Name: name, Title: "Section " + name, Rel: name + "/"})
		}
		b.Run(fmt.Sprintf("pages=%d", n), func(b *testing.B) {
			var written atomic.Int64
			emit := func(_ string, data []byte) error {
				written.Add(int64(len(data)))
				return nil
			}
			reuse := func(string, [sha256.Size]byte) bool { return false }
			b.ReportAllocs()
			var lists int
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				res, err := r.Lists(views, nil, emit, reuse, nil)
				if err != nil {
					b.Fatal(err)
				}
				lists = res.Pages
			}
			runtime.ReadMemStats(&after)
			per := float64(b.N) * float64(n)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/page")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/page")
			b.ReportMetric(float64(lists)/float64(n), "lists/page")
			b.ReportMetric(float64(written.Load())/per, "out-B/page")
		})
	}
}

// BenchmarkPagesScale parses and renders every briefing of generated
// corpora (internal/corpus) and keeps what a build keeps of each until
// its end: the view, the headings (public text for the leak scan) and the
// links. Besides time and allocations per briefing it reports
// retained-objects/page, the heap objects still held once all are
// rendered: a large build's garbage collector marks them again in every
// cycle, and its work per cycle grows faster than their count once they
// no longer fit in the processor's caches.
func BenchmarkPagesScale(b *testing.B) {
	th, err := LoadTheme(b.TempDir(), "default")
	if err != nil {
		b.Fatal(err)
	}
	conv, err := markdown.New(markdown.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 5000} {
		dir := b.TempDir()
		if err := corpus.Write(dir, corpus.Options{Pages: n, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, site.ConfigFile), []byte("title = \"Bench\"\nbaseURL = \"https://bench.example.org/\"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		s, err := site.Load(dir, site.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("pages=%d", n), func(b *testing.B) {
			r := New(s, th, conv)
			emit := func(string, []byte) error { return nil }
			var kept []any
			var retained, pages uint64
			var before, after, end runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs := before.Mallocs
			for b.Loop() {
				b.StopTimer()
				kept = nil // what the last round kept is garbage
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				pages = 0
				for _, p := range s.Pages {
					if p.Kind != site.KindPage {
						continue
					}
					doc := conv.Parse(p, s)
					public := doc.Headings(1, 6)
					v, err := r.Page(doc, emit)
					if err != nil {
						b.Fatal(err)
					}
					kept = append(kept, v, public, doc.Links)
					pages++
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				retained = after.HeapObjects - before.HeapObjects
				b.StartTimer()
			}
			runtime.ReadMemStats(&end)
			runtime.KeepAlive(kept)
			per := float64(b.N) * float64(pages)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/page")
			b.ReportMetric(float64(end.Mallocs-allocs)/per, "allocs/page")
			b.ReportMetric(float64(retained)/float64(pages), "retained-objects/page")
		})
	}
}
