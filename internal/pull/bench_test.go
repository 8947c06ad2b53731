package pull

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/sign"
)

// BenchmarkPull measures pulling a generated sealed site from a server on
// the loopback interface, over HTTPS: 5,000 pages ($CONCLAVE_BENCH_PAGES
// pages if set), 30% of them with restricted blocks, for 200 recipients,
// built with the seal cache and signed with a key. The reader is a
// recipient of the block that changes.
//
//	first   a first pull into an empty folder: the mirror, then the
//	        readable copy
//	repull  a pull after one restricted passage of one page changed (the
//	        site rebuilt with the seal cache and signed again): the server
//	        alternates between the two releases, so that each pull has that
//	        change to fetch; mirror and readable copy
//	open    opening the re-pulled mirror into a readable copy, alone (what
//	        conclave open does)
//
// Each reports the HTTP requests and the megabytes of bodies per pull.
// docs/benchmarks.md records the figures and the command.
func BenchmarkPull(b *testing.B) {
	pages := 5000
	if v := os.Getenv("CONCLAVE_BENCH_PAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("CONCLAVE_BENCH_PAGES=%q: want a number of pages", v)
		}
		pages = n
	}
	start := time.Now()
	v1, v2, key, id := benchReleases(b, pages)
	b.Logf("%d pages: two releases built and signed in %v", pages, time.Since(start).Round(time.Millisecond))
	srv := newServer(b, v1)
	signer := &Signer{Key: key}

	b.Run("first", func(b *testing.B) {
		var rep *Report
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir, err := os.MkdirTemp(b.TempDir(), "mirror")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			rep = pullOK(b, srv.options(dir, signer, id))
			b.StopTimer()
			os.RemoveAll(dir)
			b.StartTimer()
		}
		benchReport(b, rep)
	})

	dir := filepath.Join(b.TempDir(), "mirror")
	pullOK(b, srv.options(dir, signer, id))
	b.Run("repull", func(b *testing.B) {
		var rep *Report
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if i%2 == 0 {
				srv.serve(v2)
			} else {
				srv.serve(v1)
			}
			b.StartTimer()
			rep = pullOK(b, srv.options(dir, nil, id))
		}
		benchReport(b, rep)
		if len(rep.Changed) != 1 || rep.Changed[0].Passages == 0 {
			b.Errorf("changed for the reader: %+v", rep.Changed)
		}
	})

	b.Run("open", func(b *testing.B) {
		entries := readEntries(b, filepath.Join(dir, MirrorDir))
		sums := open.VerifiedSums(entries)
		out := filepath.Join(b.TempDir(), "opened")
		for i := 0; i < b.N; i++ {
			if _, err := open.Site(filepath.Join(dir, MirrorDir), out, []age.Identity{id}, sums); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchReport reports a pull's requests and megabytes.
func benchReport(b *testing.B, rep *Report) {
	b.ReportMetric(float64(rep.Requests), "requests/op")
	b.ReportMetric(float64(rep.Bytes)/1e6, "MB/op")
	b.ReportMetric(float64(rep.Fetched), "files/op")
}

// benchReleases builds a generated site, then the same with one passage
// changed, each signed, and returns them, the signer's public key, and the
// identity of a recipient of the passage.
func benchReleases(b *testing.B, pages int) (v1, v2 string, key *ecdsa.PublicKey, id age.Identity) {
	b.Helper()
	src := filepath.Join(b.TempDir(), "site")
	if err := corpus.Write(src, corpus.Options{Pages: pages, Seed: 1, Recipients: 200, Restricted: 0.3}); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "conclave.toml"), []byte("title = \"Bench\"\nbaseURL = \"https://bench.example.org/\"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	blocks, err := corpus.ReadBlocks(src)
	if err != nil || len(blocks) == 0 {
		b.Fatalf("the corpus's blocks: %v (%d)", err, len(blocks))
	}
	block := blocks[len(blocks)/2]
	ids, err := os.ReadFile(filepath.Join(src, corpus.IdentitiesDir, block.Recipients[0]+".txt"))
	if err != nil {
		b.Fatal(err)
	}
	parsed, err := age.ParseIdentities(strings.NewReader(string(ids)))
	if err != nil {
		b.Fatal(err)
	}
	signing := newKey(b)
	cache := make([]byte, seal.KeySize)
	rand.Read(cache)
	release := func(name string) string {
		out := filepath.Join(src, "public")
		if _, err := build.Run(build.Options{Source: src, Out: out, CacheKey: cache}); err != nil {
			b.Fatalf("building the corpus: %v", err)
		}
		if _, err := sign.Site(context.Background(), out, sign.Key{Private: signing}); err != nil {
			b.Fatal(err)
		}
		dir := filepath.Join(b.TempDir(), name)
		if err := os.CopyFS(dir, os.DirFS(out)); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	v1 = release("v1")
	// One more paragraph at the end of the block.
	page := filepath.Join(src, filepath.FromSlash(block.Page))
	data, err := os.ReadFile(page)
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	end := block.End - 1
	lines = append(lines[:end], append([]string{"", fmt.Sprintf("Updated %s.", "for the benchmark"), ""}, lines[end:]...)...)
	if err := os.WriteFile(page, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		b.Fatal(err)
	}
	v2 = release("v2")
	return v1, v2, &signing.PublicKey, parsed[0]
}
