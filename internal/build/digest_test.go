package build

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/testtool"
	"github.com/conclave-dev/conclave/themes"
)

// digestsFile holds, for each site of [TestOutputDigests], one digest of
// what its build publishes and of what its readers open. A change to the
// build that should not change its output (a refactoring, a faster stage)
// must leave them as they are; an intended change of the output rewrites
// them with -update.
const digestsFile = "testdata/digests.txt"

// TestOutputDigests builds the sample site and generated corpora and
// compares digests of their output with testdata/digests.txt. Sealing is
// random (keys, nonces, packet names), so a sealed site's digest covers
// its public files with packet names blanked out, plus the copy its
// readers open: every passage in clear, for every reader.
func TestOutputDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1,100 pages")
	}
	sites := []struct {
		name string
		make func(t *testing.T) (src string, ids []age.Identity)
	}{
		{"sample site", func(t *testing.T) (string, []age.Identity) {
			return filepath.Join("..", ".."), readIdentities(t, filepath.Join("..", "..", "demo", "identities"))
		}},
		{"public corpus 800", func(t *testing.T) (string, []age.Identity) {
			return writeCorpus(t, corpus.Options{Pages: 800, Seed: 1}), nil
		}},
		{"sealed corpus 300", func(t *testing.T) (string, []age.Identity) {
			dir := writeCorpus(t, corpus.Options{Pages: 300, Seed: 2, Recipients: 30, Restricted: 0.4})
			return dir, readIdentities(t, filepath.Join(dir, corpus.IdentitiesDir))
		}},
	}
	got := map[string]string{}
	for _, s := range sites {
		src, ids := s.make(t)
		out := filepath.Join(t.TempDir(), "public")
		if _, err := Run(Options{Source: src, Out: out, Now: testNow}); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got[s.name] = outputDigest(t, out, ids)
	}
	if *update {
		var b strings.Builder
		b.WriteString("# go test ./internal/build -run TestOutputDigests -update rewrites this file\n")
		for _, s := range sites {
			fmt.Fprintf(&b, "%s: %s\n", s.name, got[s.name])
		}
		if err := os.WriteFile(digestsFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readDigests(t)
	for _, s := range sites {
		if want[s.name] != got[s.name] {
			t.Errorf("%s: output digest %s, want %s: the build's output changed (run go test ./internal/build -run TestOutputDigests -update if that was intended)", s.name, got[s.name], want[s.name])
		}
	}
}

// outputDigest digests the build in out: every file but the packets, the
// keyrings and the manifest, with packet names blanked out, then the copy
// that ids open, if any.
func outputDigest(t *testing.T, out string, ids []age.Identity) string {
	t.Helper()
	h := sha256.New()
	digestTree := func(label string, tree map[string][]byte) {
		names := make([]string, 0, len(tree))
		for p := range tree {
			names = append(names, p)
		}
		slices.Sort(names)
		for _, p := range names {
			if strings.HasPrefix(p, "packets/") || p == "SHA256SUMS" || p == ".conclave-opened" || p == open.RecordFile || p == "js/unlock.js" {
				continue
			}
			sum := sha256.Sum256(anyScript(anyPacket(tree[p])))
			fmt.Fprintf(h, "%s %s %x\n", label, p, sum)
		}
	}
	published := testtool.Tree(t, out)
	// The unlock script is built from themes/unlock, and checked against
	// its sources elsewhere: here it must be the theme's, whatever its
	// bytes, and pages name it by its digest.
	if script, ok := published["js/unlock.js"]; ok {
		theirs, err := fs.ReadFile(themes.Default, "static/js/unlock.js")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(script, theirs) {
			t.Error("js/unlock.js is not the theme's unlock script")
		}
		fmt.Fprintf(h, "unlock script\n")
	}
	digestTree("published", published)
	packets := 0
	for p := range published {
		if strings.HasPrefix(p, "packets/") {
			packets++
		}
	}
	fmt.Fprintf(h, "packets and keyrings %d\n", packets)
	if len(ids) > 0 {
		opened := filepath.Join(t.TempDir(), "opened")
		rep, err := open.Site(out, opened, ids, builtSums(t, out))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Opened == 0 || rep.NotForYou != 0 {
			t.Fatalf("opened %d passages, %d not for the readers: every passage should open", rep.Opened, rep.NotForYou)
		}
		fmt.Fprintf(h, "opened %d\n", rep.Opened)
		digestTree("opened", testtool.Tree(t, opened))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeCorpus writes a generated site into a new folder.
func writeCorpus(t *testing.T, opt corpus.Options) string {
	t.Helper()
	dir := t.TempDir()
	if err := corpus.Write(dir, opt); err != nil {
		t.Fatal(err)
	}
	testtool.WriteSite(t, dir, map[string]string{"conclave.toml": "title = \"Corpus\"\nbaseURL = \"https://corpus.example.org/\"\n"})
	return dir
}

// scriptIntegrity is the unlock script's Subresource Integrity value.
var scriptIntegrity = regexp.MustCompile(`integrity="sha384-[A-Za-z0-9+/=]+"`)

// anyScript blanks the unlock script's integrity value out of a page.
func anyScript(page []byte) []byte {
	return scriptIntegrity.ReplaceAll(page, []byte(`integrity="sha384-…"`))
}

// readIdentities parses every age identity file in dir (SSH keys too).
func readIdentities(t *testing.T, dir string) []age.Identity {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []age.Identity
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		list, err := open.ParseIdentities(name, data, open.UI{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids = append(ids, list...)
	}
	if len(ids) == 0 {
		t.Fatalf("no identity in %s", dir)
	}
	return ids
}

func readDigests(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(digestsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, sum, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("%s: bad line %q", digestsFile, line)
		}
		out[name] = sum
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
