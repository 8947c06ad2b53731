// Command gencorpus writes a synthetic briefing site for benchmarks.
//
// Usage:
//
//	gencorpus -out DIR [-n 5000] [-seed 1] [-sections 5] [-hugo]
//
// It writes DIR/content (see package internal/corpus) and DIR/conclave.toml.
// With -hugo it also writes DIR/hugo.toml, DIR/layouts and DIR/static, a
// Hugo site over the same content that does comparable work: one page per
// briefing with its table of contents, a home page, section and tag lists
// paginated 20 to a page newest first, a tag index, one feed of the 50
// newest briefings, a sitemap and a 404 page, with code highlighted by CSS
// classes and raw HTML not rendered.
package main

import (
	"embed"
	"flag"
	"fmt"
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
	hugo := flag.Bool("hugo", false, "also write a Hugo site (hugo.toml, layouts/, static/) over the same content")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: gencorpus -out DIR [-n 5000] [-seed 1] [-sections 5] [-hugo]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, opt, *hugo); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

func run(dir string, opt corpus.Options, hugo bool) error {
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
	fmt.Printf("gencorpus: wrote %d briefings to %s in %v\n", opt.Pages, dir, time.Since(start).Round(time.Millisecond))
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
