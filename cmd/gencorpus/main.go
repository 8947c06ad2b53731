// Command gencorpus writes a synthetic briefing site for benchmarks.
//
// Usage:
//
//	gencorpus -out DIR [-n 5000] [-seed 1] [-sections 5]
//	          [-recipients 200 [-restricted 0.3] [-canaries]] [-hugo]
//
// It writes DIR/content (see package internal/corpus) and DIR/conclave.toml.
// With -recipients it also writes DIR/keys (public keys and groups),
// DIR/identities (the matching secret keys, for tests) and DIR/blocks.json
// (where the restricted blocks are, who they are for, and their canaries).
// With -hugo it also writes DIR/hugo.toml, DIR/layouts and DIR/static, a
// Hugo site over the same content that does comparable work: one page per
// briefing with its table of contents, a home page, section and tag lists
// paginated 20 to a page newest first, a tag index, one feed of the 50
// newest briefings, a sitemap and a 404 page, with code highlighted by CSS
// classes and raw HTML not rendered. Hugo knows nothing of restricted
// blocks: it shows their fence lines as text and their contents as public
// markdown, the plaintext build of the same markdown.
package main

import (
	"embed"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/conclave-dev/conclave/internal/corpus"
)

//go:embed all:hugo
var hugoSite embed.FS

const conclaveConfig = `title = "Benchmark corpus"
baseURL = "https://bench.example.org/"
`

func main() {
	var opt corpus.Options
	out := flag.String("out", "", "folder to write the site to (required; its content/ must not exist yet)")
	flag.IntVar(&opt.Pages, "n", 5000, "number of briefings")
	flag.Int64Var(&opt.Seed, "seed", 1, "seed: the same seed gives the same files")
	flag.IntVar(&opt.Sections, "sections", corpus.DefaultSections, "number of sections")
	flag.IntVar(&opt.Recipients, "recipients", 0, "number of recipients written to keys/ (0: none, and no restricted blocks)")
	flag.Float64Var(&opt.Restricted, "restricted", 0, "fraction of briefings with 1 to 3 restricted blocks, 0 to 1 (needs -recipients)")
	flag.BoolVar(&opt.Canaries, "canaries", false, "put a unique canary token in every text element of every restricted block")
	hugo := flag.Bool("hugo", false, "also write a Hugo site (hugo.toml, layouts/, static/) over the same content")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: gencorpus -out DIR [-n 5000] [-seed 1] [-sections 5] [-recipients 200 [-restricted 0.3] [-canaries]] [-hugo]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if opt.Restricted > 0 && opt.Recipients == 0 {
		fmt.Fprintln(os.Stderr, "gencorpus: -restricted needs -recipients N (try -recipients 200)")
		os.Exit(2)
	}
	if opt.Canaries && opt.Restricted == 0 {
		fmt.Fprintln(os.Stderr, "gencorpus: -canaries needs restricted blocks (try -recipients 200 -restricted 0.3)")
		os.Exit(2)
	}
	if err := run(os.Stdout, *out, opt, *hugo); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

// run writes the site and a one-line summary to w.
func run(w io.Writer, dir string, opt corpus.Options, hugo bool) error {
	start := time.Now()
	if err := corpus.Write(dir, opt); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "conclave.toml"), []byte(conclaveConfig), 0o644); err != nil {
		return err
	}
	if hugo {
		if err := writeHugo(dir); err != nil {
			return err
		}
	}
	took := time.Since(start).Round(time.Millisecond)
	if opt.Recipients == 0 {
		fmt.Fprintf(w, "gencorpus: wrote %d briefings to %s in %v\n", opt.Pages, dir, took)
		return nil
	}
	blocks, err := corpus.ReadBlocks(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "gencorpus: wrote %d briefings with %d restricted blocks for %d recipients to %s in %v\n",
		opt.Pages, len(blocks), opt.Recipients, dir, took)
	return nil
}

// writeHugo copies the embedded Hugo files into dir.
func writeHugo(dir string) error {
	root, err := fs.Sub(hugoSite, "hugo")
	if err != nil {
		return err
	}
	return fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(root, path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}
