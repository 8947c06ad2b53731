package deploy

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// backend is a kind of bucket the tests deploy to.
type backend struct {
	name string
	// bucket returns the URL of a new, empty bucket.
	bucket func(t *testing.T) string
}

var backends = []backend{
	{"s3", func(t *testing.T) string { return startS3(t, "site").URL("site") }},
	{"file", func(t *testing.T) string { return fileBucket(t) }},
}

// fileBucket returns the URL of a new, empty folder.
func fileBucket(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "bucket")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(dir)
}

// A first deploy uploads every file, then SHA256SUMS and its bundle, with
// their headers and digests; a second with nothing changed uploads
// nothing; after one page changed, only it, SHA256SUMS and its bundle are
// uploaded; files removed from the site are deleted from the bucket. After
// each, what a reader downloads verifies.
func TestDeploy(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			url := be.bucket(t)
			sg := newSigner(t)
			dir := filepath.Join(t.TempDir(), "public")
			s := sampleSite(5)
			s.write(t, dir, sg)

			rep := deploy(t, options(dir, url, sg))
			if rep.Plan.Previous != PreviousNone || rep.Files != len(s) || rep.Uploaded != len(s)+2 || rep.Deleted != 0 {
				t.Errorf("first deploy: previous %q, files %d, uploaded %d, deleted %d; want none, %d, %d, 0", rep.Plan.Previous, rep.Files, rep.Uploaded, rep.Deleted, len(s), len(s)+2)
			}
			if rep.Bytes != rep.Plan.Bytes || rep.Bytes != siteBytes(t, dir) {
				t.Errorf("first deploy: %d bytes uploaded, planned %d, the site holds %d", rep.Bytes, rep.Plan.Bytes, siteBytes(t, dir))
			}
			if !strings.HasPrefix(rep.Signer, "key SHA256:") {
				t.Errorf("signer = %q", rep.Signer)
			}
			verifyBucket(t, url, sg)
			checkHeaders(t, url, dir)

			// Nothing changed: nothing uploaded, nothing deleted.
			rep = deploy(t, options(dir, url, sg))
			if rep.Uploaded != 0 || rep.Deleted != 0 || rep.Plan.Unchanged != len(s) || rep.Plan.Previous != PreviousRead || rep.Bytes != 0 {
				t.Errorf("deploy with nothing changed: uploaded %d (%d bytes), deleted %d, unchanged %d, previous %q", rep.Uploaded, rep.Bytes, rep.Deleted, rep.Plan.Unchanged, rep.Plan.Previous)
			}

			// One page changed: it, SHA256SUMS and its bundle.
			s["briefings/a/index.html"] = "<!doctype html><title>A, revised</title>"
			s.write(t, dir, sg)
			rep = deploy(t, options(dir, url, sg))
			want := []string{"briefings/a/index.html"}
			if got := uploadPaths(rep.Plan); !slices.Equal(got, want) || !rep.Plan.Manifest || !rep.Plan.Bundle || rep.Uploaded != 3 {
				t.Errorf("one page changed: uploaded %d: %v (manifest %t, bundle %t), want %v and both", rep.Uploaded, got, rep.Plan.Manifest, rep.Plan.Bundle, want)
			}
			if wantBytes := fileSize(t, dir, "briefings/a/index.html") + fileSize(t, dir, format.Manifest) + fileSize(t, dir, format.ManifestBundle); rep.Bytes != wantBytes {
				t.Errorf("one page changed: %d bytes uploaded, want %d", rep.Bytes, wantBytes)
			}
			if got := verifyBucket(t, url, sg); string(got["briefings/a/index.html"]) != s["briefings/a/index.html"] {
				t.Errorf("the bucket holds %q", got["briefings/a/index.html"])
			}

			// A page and a packet removed: deleted, after the release.
			var packet string
			for p := range s {
				if format.IsPacketPath(p) {
					packet = p
					break
				}
			}
			delete(s, "briefings/b/index.html")
			delete(s, packet)
			s.write(t, dir, sg)
			rep = deploy(t, options(dir, url, sg))
			if rep.Uploaded != 2 || rep.Deleted != 2 || !slices.Equal(rep.Plan.Deletes, sorted("briefings/b/index.html", packet)) {
				t.Errorf("two files removed: uploaded %d, deleted %d: %v", rep.Uploaded, rep.Deleted, rep.Plan.Deletes)
			}
			verifyBucket(t, url, sg)
			if got, want := keys(t, url), sorted(append(mapKeys(s), format.Manifest, format.ManifestBundle)...); !slices.Equal(got, want) {
				t.Errorf("bucket holds %v\nwant %v", got, want)
			}
		})
	}
}

// checkHeaders checks the Content-Type, Cache-Control and digest of the
// objects of the site at dir in the bucket at url.
func checkHeaders(t *testing.T, url, dir string) {
	t.Helper()
	b := openTest(t, url)
	m, err := os.ReadFile(filepath.Join(dir, format.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := manifest.Parse(format.Manifest, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		a, err := b.Attributes(context.Background(), e.Path)
		if err != nil {
			t.Fatal(err)
		}
		if a.ContentType != ContentType(e.Path) || a.CacheControl != CacheControl(e.Path) || a.Metadata[MetadataSHA256] != hexSum(e.Sum) {
			t.Errorf("%s: Content-Type %q, Cache-Control %q, sha256 %q; want %q, %q, %q", e.Path, a.ContentType, a.CacheControl, a.Metadata[MetadataSHA256],
				ContentType(e.Path), CacheControl(e.Path), hexSum(e.Sum))
		}
	}
	for _, p := range []string{format.Manifest, format.ManifestBundle} {
		a, err := b.Attributes(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if a.CacheControl != CacheRelease || a.ContentType != ContentType(p) {
			t.Errorf("%s: Content-Type %q, Cache-Control %q", p, a.ContentType, a.CacheControl)
		}
	}
}

// A bucket holding objects the site does not list: they are deleted after
// the release is uploaded, up to the bound. Over it, the deploy is refused
// before anything is uploaded, saying how many and what allows them.
func TestDeployStale(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			url := be.bucket(t)
			sg := newSigner(t)
			dir := filepath.Join(t.TempDir(), "public")
			s := sampleSite(2)
			s.write(t, dir, sg)
			deploy(t, options(dir, url, sg))
			stale := []string{"old/index.html", "robots.txt", "packets/0123456789abcdef0123456789abcdef.age"}
			b := openTest(t, url)
			for _, k := range stale {
				if err := b.WriteAll(context.Background(), k, []byte("stale"), nil); err != nil {
					t.Fatal(err)
				}
			}
			s["index.html"] = "<!doctype html><title>Briefings, revised</title>"
			s.write(t, dir, sg)
			before := keys(t, url)

			opt := options(dir, url, sg)
			opt.MaxDeletes = 2
			rep, err := Deploy(context.Background(), opt)
			var tooMany *TooManyDeletesError
			if !errors.As(err, &tooMany) || tooMany.N != 3 || tooMany.Max != 2 {
				t.Fatalf("3 stale objects, at most 2 deletes: %v", err)
			}
			if want := `deploy target "test" holds 3 objects the site does not list, more than the 2 a deploy deletes: nothing was uploaded or deleted`; err.Error() != want {
				t.Errorf("error:\n%s\nwant\n%s", err, want)
			}
			if rep == nil || !slices.Equal(rep.Plan.Deletes, sorted(stale...)) || rep.Uploaded != 0 {
				t.Errorf("refused plan: %+v", rep)
			}
			if after := keys(t, url); !slices.Equal(after, before) {
				t.Errorf("a refused deploy changed the bucket: %v, was %v", after, before)
			}
			if got := verifyBucket(t, url, sg); string(got["index.html"]) == s["index.html"] {
				t.Error("a refused deploy uploaded index.html")
			}

			opt.MaxDeletes = 3
			rep = deploy(t, opt)
			if rep.Deleted != 3 || rep.Uploaded != 3 {
				t.Errorf("deleted %d, uploaded %d; want 3 and 3", rep.Deleted, rep.Uploaded)
			}
			verifyBucket(t, url, sg)
			for _, k := range keys(t, url) {
				if slices.Contains(stale, k) {
					t.Errorf("%s not deleted", k)
				}
			}
		})
	}
}

// A deploy whose server dies in the middle of its uploads fails; the
// bucket's previous release still verifies, as a reader downloads it; the
// deploy run again finishes, without uploading again what the first
// uploaded.
func TestDeployInterruptedS3(t *testing.T) {
	srv := startS3(t, "site")
	url := srv.URL("site")
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	v1 := sampleSite(3)
	v1.write(t, dir, sg)
	deploy(t, options(dir, url, sg))
	old := verifyBucket(t, url, sg)

	v2 := v1.clone()
	for i := range 40 {
		v2.addPacket(strings.Repeat("new packet ", i+1))
	}
	v2["index.html"] = "<!doctype html><title>Briefings, v2</title>"
	v2.write(t, dir, sg)

	// The server stops once 10 objects are uploaded.
	var n atomic.Int32
	testOnlyUploaded = func(string) {
		if n.Add(1) == 10 {
			srv.Stop()
		}
	}
	opt := options(dir, url, sg)
	opt.Jobs = 4
	_, err := Deploy(context.Background(), opt)
	testOnlyUploaded = nil
	if err == nil {
		t.Fatal("a deploy whose server stopped succeeded")
	}
	t.Logf("the error: %v", err)

	srv.Start(t)
	if got := verifyBucket(t, url, sg); !equalTrees(got, old) {
		t.Error("after a failed deploy the bucket's release is not the previous one")
	}
	rep := deploy(t, opt)
	if rep.Plan.Resumed < 10 {
		t.Errorf("the rerun resumed %d files, want at least the 10 uploaded before the server stopped", rep.Plan.Resumed)
	}
	if want := 41 - rep.Plan.Resumed; len(rep.Plan.Uploads) != want {
		t.Errorf("the rerun uploaded %d files, want %d (41 new or changed, %d there already)", len(rep.Plan.Uploads), want, rep.Plan.Resumed)
	}
	if got := verifyBucket(t, url, sg); string(got["index.html"]) != v2["index.html"] || len(got) != len(v2)+2 {
		t.Errorf("after the rerun the bucket holds %d files", len(got))
	}
}

// A deploy to a folder that fails in the middle (a file stands where a
// new folder goes) leaves the previous release verifying; once the file
// is gone, a rerun finishes without uploading again what is there.
func TestDeployInterruptedFile(t *testing.T) {
	url := fileBucket(t)
	folder := strings.TrimPrefix(url, "file://")
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	v1 := sampleSite(2)
	v1.write(t, dir, sg)
	deploy(t, options(dir, url, sg))
	old := verifyBucket(t, url, sg)

	v2 := v1.clone()
	for i := range 20 {
		v2.addPacket(strings.Repeat("more ", i+1))
	}
	v2["zz-new/index.html"] = "<!doctype html><title>New</title>"
	v2["index.html"] = "<!doctype html><title>v2</title>"
	v2.write(t, dir, sg)
	// A file where the folder zz-new must go: the upload of
	// zz-new/index.html fails, after those of the packets.
	if err := os.WriteFile(filepath.Join(folder, "zz-new"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Deploy(context.Background(), options(dir, url, sg))
	if err == nil || !strings.Contains(err.Error(), "upload zz-new/index.html") {
		t.Fatalf("error = %v, want the upload of zz-new/index.html to fail", err)
	}
	if got := verifyBucket(t, url, sg); !equalTrees(got, old) {
		t.Error("after a failed deploy the bucket's release is not the previous one")
	}
	if err := os.Remove(filepath.Join(folder, "zz-new")); err != nil {
		t.Fatal(err)
	}
	rep := deploy(t, options(dir, url, sg))
	if rep.Plan.Resumed != 20 || !slices.Equal(uploadPaths(rep.Plan), []string{"zz-new/index.html", "index.html"}) {
		t.Errorf("rerun: resumed %d, uploaded %v; want 20 packets resumed, zz-new/index.html and index.html uploaded", rep.Plan.Resumed, uploadPaths(rep.Plan))
	}
	verifyBucket(t, url, sg)
}

// A file that changes after the site was verified is not uploaded: the
// deploy stops, and the bucket's release is the previous one.
func TestDeployChangedWhileUploading(t *testing.T) {
	url := fileBucket(t)
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	v1 := sampleSite(1)
	v1.write(t, dir, sg)
	deploy(t, options(dir, url, sg))
	old := verifyBucket(t, url, sg)

	v2 := v1.clone()
	v2.addPacket("new packet")
	v2["index.html"] = "<!doctype html><title>v2</title>"
	v2.write(t, dir, sg)
	testOnlyUploaded = func(string) {
		os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>v3</title>"), 0o644)
	}
	defer func() { testOnlyUploaded = nil }()
	_, err := Deploy(context.Background(), options(dir, url, sg))
	if err == nil || !strings.Contains(err.Error(), "index.html changed since the site was verified: not uploaded") {
		t.Fatalf("error = %v", err)
	}
	if got := verifyBucket(t, url, sg); !equalTrees(got, old) {
		t.Error("the bucket's release changed")
	}
}

// Only a site that verifies is deployed: signed for the expected signer,
// or, for a target that takes one and when allowed, unsigned with files
// that match its SHA256SUMS. Nothing is written to the bucket otherwise.
func TestDeployVerifies(t *testing.T) {
	sg, other := newSigner(t), newSigner(t)
	signed := filepath.Join(t.TempDir(), "signed")
	sampleSite(1).write(t, signed, sg)
	unsigned := filepath.Join(t.TempDir(), "unsigned")
	sampleSite(1).write(t, unsigned, nil)
	tampered := filepath.Join(t.TempDir(), "tampered")
	sampleSite(1).write(t, tampered, sg)
	os.WriteFile(filepath.Join(tampered, "index.html"), []byte("defaced"), 0o644)

	for _, tc := range []struct {
		name      string
		dir       string
		signer    *signer
		allow, ok bool // --allow-unsigned, unsigned = true
		wantErr   string
	}{
		{name: "signed, no signer", dir: signed, wantErr: "is signed, and no signer is named to check it against"},
		{name: "signed, other key", dir: signed, signer: other, wantErr: "the signature does not verify with the key"},
		{name: "unsigned", dir: unsigned, signer: sg, wantErr: "is not signed (it has no SHA256SUMS.sigstore.json): a deploy publishes only a signed site"},
		{name: "unsigned, no signer", dir: unsigned, wantErr: "is not signed"},
		{name: "unsigned, target refuses", dir: unsigned, allow: true, wantErr: `deploy target "test" does not take unsigned sites`},
		{name: "unsigned, allowed, target refuses", dir: signed, signer: sg, allow: true, wantErr: `deploy target "test" does not take unsigned sites`},
		{name: "tampered", dir: tampered, signer: sg, wantErr: "index.html: content does not match its SHA-256 digest in SHA256SUMS"},
		{name: "no site", dir: filepath.Join(t.TempDir(), "nothing"), signer: sg, wantErr: "no such folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := fileBucket(t)
			opt := options(tc.dir, url, tc.signer)
			opt.AllowUnsigned, opt.Target.Unsigned = tc.allow, tc.ok
			_, err := Deploy(context.Background(), opt)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if k := keys(t, url); len(k) > 0 {
				t.Errorf("a refused deploy wrote %v", k)
			}
		})
	}

	// An unsigned site, allowed, to a target that takes one: its files
	// are checked, and the bucket's old bundle goes before its SHA256SUMS.
	url := fileBucket(t)
	deploy(t, options(signed, url, sg))
	opt := options(unsigned, url, nil)
	opt.AllowUnsigned, opt.Target.Unsigned = true, true
	rep := deploy(t, opt)
	if rep.Signer != "" || rep.Plan.Bundle || !slices.Contains(rep.Plan.Deletes, format.ManifestBundle) {
		t.Errorf("unsigned deploy: signer %q, bundle %t, deletes %v", rep.Signer, rep.Plan.Bundle, rep.Plan.Deletes)
	}
	if k := keys(t, url); slices.Contains(k, format.ManifestBundle) || !slices.Contains(k, format.Manifest) {
		t.Errorf("bucket after an unsigned deploy: %v", k)
	}
	unsignedTampered := filepath.Join(t.TempDir(), "ut")
	sampleSite(1).write(t, unsignedTampered, nil)
	os.WriteFile(filepath.Join(unsignedTampered, "extra.html"), []byte("x"), 0o644)
	opt.Dir = unsignedTampered
	if _, err := Deploy(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "extra.html: not listed in SHA256SUMS") {
		t.Errorf("unsigned site with an unlisted file: %v", err)
	}
}

// A dry run plans and writes nothing.
func TestDeployDryRun(t *testing.T) {
	url := fileBucket(t)
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	s := sampleSite(2)
	s.write(t, dir, sg)
	opt := options(dir, url, sg)
	opt.DryRun = true
	rep := deploy(t, opt)
	if len(rep.Plan.Uploads) != len(s) || !rep.Plan.Manifest || !rep.Plan.Bundle || rep.Uploaded != 0 || rep.Plan.Bytes != siteBytes(t, dir) {
		t.Errorf("dry run: %d uploads planned, %d done, %d bytes", len(rep.Plan.Uploads), rep.Uploaded, rep.Plan.Bytes)
	}
	if k := keys(t, url); len(k) > 0 {
		t.Errorf("a dry run wrote %v", k)
	}
	// Packets and keyrings first, pages last.
	var steps []int
	for _, u := range rep.Plan.Uploads {
		steps = append(steps, u.Step)
		if u.Step == stepNewDigestNamed && !digestNamed(u.Path) || u.Step == stepNewPage && !strings.HasSuffix(u.Path, ".html") {
			t.Errorf("%s at step %d", u.Path, u.Step)
		}
	}
	if !slices.IsSorted(steps) || steps[0] != stepNewDigestNamed || steps[len(steps)-1] != stepNewPage {
		t.Errorf("steps %v", steps)
	}
}

// What the bucket holds is checked by size and digest, never trusted
// from its SHA256SUMS alone: an object missing is uploaded again, and a
// SHA256SUMS that cannot be read makes every file compared by the digest
// in its object's metadata.
func TestDeployRepairs(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			url := be.bucket(t)
			sg := newSigner(t)
			dir := filepath.Join(t.TempDir(), "public")
			s := sampleSite(2)
			s.write(t, dir, sg)
			deploy(t, options(dir, url, sg))
			b := openTest(t, url)
			ctx := context.Background()

			if err := b.Delete(ctx, "css/conclave.css"); err != nil {
				t.Fatal(err)
			}
			rep := deploy(t, options(dir, url, sg))
			if got := uploadPaths(rep.Plan); !slices.Equal(got, []string{"css/conclave.css"}) || rep.Plan.Manifest || rep.Uploaded != 1 {
				t.Errorf("an object missing: uploaded %v (manifest %t)", got, rep.Plan.Manifest)
			}

			if err := b.WriteAll(ctx, format.Manifest, []byte("not a manifest\n"), nil); err != nil {
				t.Fatal(err)
			}
			rep = deploy(t, options(dir, url, sg))
			if !strings.Contains(rep.Plan.Previous, "the bucket's SHA256SUMS:1:") || rep.Plan.Resumed != len(s) || len(rep.Plan.Uploads) != 0 || !rep.Plan.Manifest || rep.Plan.Bundle {
				t.Errorf("unreadable SHA256SUMS: previous %q, resumed %d, uploads %v, manifest %t, bundle %t", rep.Plan.Previous, rep.Plan.Resumed, uploadPaths(rep.Plan), rep.Plan.Manifest, rep.Plan.Bundle)
			}
			verifyBucket(t, url, sg)

			// --force uploads everything.
			opt := options(dir, url, sg)
			opt.Force = true
			if rep := deploy(t, opt); rep.Uploaded != len(s)+2 {
				t.Errorf("forced: uploaded %d, want %d", rep.Uploaded, len(s)+2)
			}
		})
	}
}

// Bucket URLs that carry credentials are refused before anything is
// opened; a bucket that does not exist is a clear error.
func TestDeployBadTarget(t *testing.T) {
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	sampleSite(1).write(t, dir, sg)
	for _, tc := range []struct{ url, want string }{
		{"s3://bucket?region=x&secret_access_key=abc", `parameter "secret_access_key" carries a credential`},
		{"https://example.org/", "want a bucket URL"},
		{"file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "missing")), "cannot open"},
	} {
		_, err := Deploy(context.Background(), options(dir, tc.url, sg))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.url, err, tc.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	for _, tc := range []struct{ path, ctype, cache string }{
		{"index.html", "text/html; charset=utf-8", CacheShort},
		{"css/conclave.css", "text/css; charset=utf-8", CacheShort},
		{"js/unlock.js", "text/javascript; charset=utf-8", CacheShort},
		{"feed.xml", "application/atom+xml", CacheShort},
		{"packets/0123456789abcdef0123456789abcdef.age", "application/octet-stream", CacheImmutable},
		{"packets/keyrings/0123456789abcdef0123456789abcdef.age", "application/octet-stream", CacheImmutable},
		{"packets/keyrings.json", "application/json", CacheShort},
		{"packets/notadigest.age", "application/octet-stream", CacheShort},
		{"SHA256SUMS", "text/plain; charset=utf-8", CacheRelease},
		{"SHA256SUMS.sigstore.json", "application/json", CacheRelease},
		{"images/a.PNG", "image/png", CacheShort},
		{"files/data.unknownext", "application/octet-stream", CacheShort},
	} {
		if got := ContentType(tc.path); got != tc.ctype {
			t.Errorf("ContentType(%q) = %q, want %q", tc.path, got, tc.ctype)
		}
		if got := CacheControl(tc.path); got != tc.cache {
			t.Errorf("CacheControl(%q) = %q, want %q", tc.path, got, tc.cache)
		}
	}
}

func uploadPaths(p Plan) []string {
	var out []string
	for _, u := range p.Uploads {
		out = append(out, u.Path)
	}
	return out
}

func sorted(s ...string) []string { return slices.Sorted(slices.Values(s)) }

func mapKeys(s testSite) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	return out
}

func fileSize(t *testing.T, dir, p string) int64 {
	info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// siteBytes is the size of every file of the site at dir.
func siteBytes(t *testing.T, dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return err
	})
	return n
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}

func hexSum(sum [32]byte) string { return hex.EncodeToString(sum[:]) }

// The progress line counts objects and bytes as they are uploaded, and
// is cleared at the end.
func TestDeployProgress(t *testing.T) {
	url := fileBucket(t)
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	sampleSite(4).write(t, dir, sg)
	testOnlyUploaded = func(string) { time.Sleep(30 * time.Millisecond) }
	defer func() { testOnlyUploaded = nil }()
	var progress strings.Builder
	opt := options(dir, url, sg)
	opt.Jobs, opt.Progress = 1, &progress
	rep := deploy(t, opt)
	out := progress.String()
	if !regexp.MustCompile(`\rconclave: deploying to test: uploaded \d+ of ` + strconv.Itoa(rep.Plan.Objects()) + ` objects, [\d.]+ (bytes|KiB) of [\d.]+ KiB`).MatchString(out) {
		t.Errorf("no progress line in %q", out)
	}
	if !strings.HasSuffix(out, "\r") || !strings.Contains(out, "\r"+strings.Repeat(" ", 40)) {
		t.Errorf("the progress line is not cleared: %q", out)
	}
}

// A site whose release is older than the bucket's is refused before
// anything is written (readers would be rolled back: an embargo lifted in
// the newer release sealed again); --allow-older deploys it; a release of
// the same time, or a newer one, deploys.
func TestDeployOlderRelease(t *testing.T) {
	url := fileBucket(t)
	sg := newSigner(t)
	dir := filepath.Join(t.TempDir(), "public")
	newer := sampleSite(2)
	newer["release.json"] = string(format.Release{Time: time.Date(2026, 12, 9, 17, 5, 0, 0, time.UTC)}.Marshal())
	newer["briefings/a/index.html"] = "<!doctype html><title>A, lifted</title>"
	newer.write(t, dir, sg)
	deploy(t, options(dir, url, sg))
	before := verifyBucket(t, url, sg)

	older := sampleSite(2) // released 2026-12-01
	older.write(t, dir, sg)
	_, err := Deploy(context.Background(), options(dir, url, sg))
	var oe *OlderReleaseError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "holds a release of 2026-12-09T17:05:00Z, newer than this site's (2026-12-01T00:00:00Z)") {
		t.Fatalf("an older release: %v", err)
	}
	after := verifyBucket(t, url, sg)
	if !maps.EqualFunc(before, after, bytes.Equal) {
		t.Errorf("a refused deploy changed the bucket")
	}

	opt := options(dir, url, sg)
	opt.AllowOlder = true
	deploy(t, opt)
	if got := verifyBucket(t, url, sg)["briefings/a/index.html"]; string(got) != older["briefings/a/index.html"] {
		t.Errorf("--allow-older: the bucket holds %q", got)
	}
	// The same release again, then a newer one: deployed.
	deploy(t, options(dir, url, sg))
	newer.write(t, dir, sg)
	deploy(t, options(dir, url, sg))
}
