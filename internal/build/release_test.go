package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// testNow is the release time of the tests that compare a build's output
// with golden files, digests or another build: release.json holds it.
var testNow = time.Date(2026, 12, 6, 15, 58, 4, 0, time.UTC)

// Every published build dates its release in release.json, which
// SHA256SUMS lists: the time given, in UTC to the second, or the time of
// the build. The author's preview is no release, and has none.
func TestReleaseFile(t *testing.T) {
	src := copySite(t)
	listed := func(t *testing.T, sums []byte) bool {
		t.Helper()
		entries, err := manifest.Parse(manifest.Name, sums)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Path == format.ReleaseFile {
				return true
			}
		}
		return false
	}

	out := filepath.Join(t.TempDir(), "public")
	given := time.Date(2026, 12, 6, 16, 58, 4, 999_000_000, time.FixedZone("CET", 3600))
	if _, err := Run(Options{Source: src, Out: out, Now: given}); err != nil {
		t.Fatal(err)
	}
	tree := testtool.Tree(t, out)
	if got, want := string(tree[format.ReleaseFile]), `{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"}`+"\n"; got != want {
		t.Errorf("release.json = %q, want %q", got, want)
	}
	if !listed(t, tree[manifest.Name]) {
		t.Errorf("SHA256SUMS does not list release.json:\n%s", tree[manifest.Name])
	}

	// The zero time is the time of the build.
	before := time.Now().UTC().Truncate(time.Second)
	if _, err := Run(Options{Source: src, Out: out}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UTC()
	data, err := os.ReadFile(filepath.Join(out, format.ReleaseFile))
	if err != nil {
		t.Fatal(err)
	}
	r, err := format.ParseRelease(data)
	if err != nil || r.Time.Before(before) || r.Time.After(after) {
		t.Errorf("release.json of a build between %v and %v: %s (%v)", before, after, data, err)
	}

	// In memory too (conclave serve --sealed), but not in a preview.
	_, mem, err := Memory(Options{Source: src, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := mem.Get(format.ReleaseFile); !ok || string(data) != string(format.Release{Time: testNow}.Marshal()) {
		t.Errorf("a memory build's release.json: %q", data)
	}
	if sums, _ := mem.Get(manifest.Name); !listed(t, sums) {
		t.Error("a memory build's SHA256SUMS does not list release.json")
	}
	_, prev, err := Memory(Options{Source: src, Preview: true, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := prev.Get(format.ReleaseFile); ok {
		t.Error("a preview wrote release.json")
	}
}

// No content or theme file, and no page, may be published where the build
// writes release.json, SHA256SUMS or its signatures: every build refuses
// them, the preview included, naming the file, and leaves the output as
// it was.
func TestReservedOutputPaths(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"content file release.json", map[string]string{"content/release.json": `{"format":"conclave-release v1","time":"2099-01-01T00:00:00Z"}`},
			"content/release.json: output path release.json is reserved for the release's time (every published build writes it); rename the file"},
		{"content file SHA256SUMS", map[string]string{"content/SHA256SUMS": "0000  index.html\n"},
			"content/SHA256SUMS: output path SHA256SUMS is reserved for the manifest and its signatures (SHA256SUMS*); rename the file"},
		{"content file SHA256SUMS.txt", map[string]string{"content/SHA256SUMS.txt": "unsigned\n"},
			"content/SHA256SUMS.txt: output path SHA256SUMS.txt is reserved for the manifest"},
		{"theme file release.json", map[string]string{"themes/default/static/release.json": "{}"},
			"themes/default/static/release.json: output path release.json is reserved for the release's time (every published build writes it); rename the theme's file"},
		{"theme file SHA256SUMS.sigstore.json", map[string]string{"themes/default/static/SHA256SUMS.sigstore.json": "{}"},
			"themes/default/static/SHA256SUMS.sigstore.json: output path SHA256SUMS.sigstore.json is reserved for the manifest"},
		{"page at /release.json/", map[string]string{"content/r.md": "---\ntitle: R\nslug: release.json\n---\n\nText.\n"},
			"content/r.md:3: URL /release.json/ is reserved for the release's time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := copySite(t)
			out := filepath.Join(src, "public")
			if _, err := Run(Options{Source: src, Out: out}); err != nil {
				t.Fatal(err)
			}
			before := testtool.Tree(t, out)
			testtool.WriteSite(t, src, tt.files)
			_, err := Run(Options{Source: src, Out: out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("build: error %v\nwant %q", err, tt.want)
			}
			sameTree(t, "output", before, testtool.Tree(t, out))
			for _, preview := range []bool{false, true} {
				if _, _, err := Memory(Options{Source: src, Preview: preview}); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("memory build (preview %v): error %v\nwant %q", preview, err, tt.want)
				}
			}
		})
	}
}
