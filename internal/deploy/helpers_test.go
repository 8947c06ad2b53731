package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/conclave-dev/conclave/internal/deploy/deploytest"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/testtool"
)

func init() { testOnlyBackoff = 10 * time.Millisecond }

// signer is a signing key made for a test, and the policy that checks
// its signatures.
type signer struct {
	key    *ecdsa.PrivateKey
	policy sign.Policy
}

func newSigner(t testing.TB) *signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: key, policy: sign.Policy{Key: &key.PublicKey}}
}

// testSite is the files of a site, by slash path, as a build would write
// them (without SHA256SUMS and its bundle).
type testSite map[string]string

// sampleSite is a small site of every kind of file: pages, assets, n
// packets and a keyring, named by their digest as a build names them.
func sampleSite(n int) testSite {
	s := testSite{
		"index.html":               "<!doctype html><title>Briefings</title>",
		"briefings/a/index.html":   "<!doctype html><title>A</title>",
		"briefings/b/index.html":   "<!doctype html><title>B</title>",
		"css/conclave.css":         "body{margin:0}",
		"js/unlock.js":             "console.log('unlock')",
		"feed.xml":                 "<feed/>",
		"release.json":             string(format.Release{Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}.Marshal()),
		format.KeyringIndex:        `{"version":1}`,
		"search/index.json":        `{}`,
		"images/logo.png":          "\x89PNG....",
		"briefings/index.html":     "<!doctype html><title>List</title>",
		"tags/zero-day/index.html": "<!doctype html><title>Tag</title>",
	}
	for i := range n {
		s.addPacket(fmt.Sprintf("age-encryption.org/v1 packet %d", i))
	}
	kr := "age-encryption.org/v1 keyring"
	s[format.KeyringDir+"/"+format.DigestName([]byte(kr))+format.AgeExt] = kr
	return s
}

// addPacket adds a packet holding text, at its digest's name.
func (s testSite) addPacket(text string) string {
	p := format.PacketPath(format.DigestName([]byte(text)))
	s[p] = text
	return p
}

// write writes the site to dir (which it empties first) with its
// SHA256SUMS, and signs it with sg unless sg is nil.
func (s testSite) write(t testing.TB, dir string, sg *signer) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	var entries []manifest.Entry
	for p, text := range s {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, manifest.Entry{Path: p, Sum: sha256.Sum256([]byte(text))})
	}
	m, err := manifest.Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, format.Manifest), m, 0o644); err != nil {
		t.Fatal(err)
	}
	if sg != nil {
		if _, err := sign.Site(context.Background(), dir, sign.Key{Private: sg.key}); err != nil {
			t.Fatal(err)
		}
	}
}

// clone returns a copy of the site.
func (s testSite) clone() testSite {
	c := testSite{}
	for k, v := range s {
		c[k] = v
	}
	return c
}

// startS3 starts an S3 server with the buckets named.
func startS3(t *testing.T, buckets ...string) *deploytest.S3 {
	return deploytest.StartS3(t, buckets...)
}

// target is a deploy target named test for url.
func target(url string) site.DeployTarget { return site.DeployTarget{Name: "test", URL: url} }

// options are the options of a test's deploy of dir to url.
func options(dir, url string, sg *signer) Options {
	o := Options{Dir: dir, Target: target(url), MaxDeletes: DefaultMaxDeletes}
	if sg != nil {
		o.Policy = &sg.policy
	}
	return o
}

// deploy deploys and fails the test on an error.
func deploy(t *testing.T, opt Options) *Report {
	t.Helper()
	rep, err := Deploy(context.Background(), opt)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	return rep
}

// openTest opens the bucket at url.
func openTest(t testing.TB, url string) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// download copies from the bucket at url what a reader of the site
// fetches ([deploytest.Download]).
func download(t testing.TB, url, dir string) { deploytest.Download(t, url, dir) }

// verifyBucket checks that what a reader downloads from the bucket at url
// verifies for sg, and returns the files of that release.
func verifyBucket(t testing.TB, url string, sg *signer) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	download(t, url, dir)
	if _, err := sign.VerifySite(dir, sg.policy); err != nil {
		t.Fatalf("the bucket's release does not verify: %v", err)
	}
	return testtool.Tree(t, dir)
}

// keys lists the keys of the bucket at url, sorted.
func keys(t testing.TB, url string) []string {
	t.Helper()
	b := openTest(t, url)
	var out []string
	it := b.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
	return out
}

// pagePaths returns the paths of the site's pages.
func (s testSite) pagePaths() []string {
	var out []string
	for p := range s {
		if path.Ext(p) == ".html" {
			out = append(out, p)
		}
	}
	return out
}
