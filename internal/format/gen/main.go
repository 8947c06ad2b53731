// Command gen writes the unlock script's copy of the published-output
// contract, themes/unlock/src/format.js, from internal/format: run it
// with go generate ./internal/format, then rebuild the unlock script's
// bundle (themes/unlock/README.md).
package main

import (
	"flag"
	"log"
	"os"

	"github.com/conclave-dev/conclave/internal/format"
)

func main() {
	out := flag.String("o", "", "file to write (the repository's "+format.JSFile+")")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		log.Fatal("usage: gen -o " + format.JSFile)
	}
	if err := os.WriteFile(*out, format.JS(), 0o644); err != nil {
		log.Fatal(err)
	}
}
