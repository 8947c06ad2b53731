package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestHugoBuildsRestrictedCorpus writes a site with restricted blocks and
// canaries and builds it with Hugo, which must succeed and show every block
// as public text: the plaintext build of the same markdown.
func TestHugoBuildsRestrictedCorpus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	opt := corpus.Options{Pages: 200, Seed: 1, Recipients: 200, Restricted: 0.3, Canaries: true}
	var out bytes.Buffer
	if err := run(&out, dir, opt, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restricted blocks for 200 recipients") {
		t.Errorf("summary %q does not count blocks and recipients", out.String())
	}
	for _, name := range []string{"conclave.toml", "hugo.toml", "keys/groups.toml", "keys/r-0200.pub", "identities/r-0200.txt", corpus.BlocksFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	blocks, err := corpus.ReadBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 60 {
		t.Fatalf("%d restricted blocks in 60 briefings", len(blocks))
	}

	// Hugo is the benchmark's peer: the corpus must build with it too.
	hugo := testtool.Require(t, "hugo")
	public := filepath.Join(t.TempDir(), "public")
	cmd := exec.Command(hugo, "--quiet", "--noBuildLock", "-s", dir, "-d", public, "--cacheDir", t.TempDir())
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, msg)
	}
	var html strings.Builder
	for _, data := range testtool.Tree(t, public) {
		html.Write(data)
	}
	for _, b := range blocks {
		for _, c := range b.Canaries {
			if !strings.Contains(html.String(), c) {
				t.Errorf("%s:%d: canary %s is not in Hugo's output", b.Page, b.Line, c)
			}
		}
	}
	if !strings.Contains(html.String(), "<p>::: restricted to=") {
		t.Error("Hugo's output shows no opening fence as a paragraph")
	}
}
