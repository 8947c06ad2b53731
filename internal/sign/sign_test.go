package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// writeSite writes a small built site (files and its SHA256SUMS) to a new
// folder.
func writeSite(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := testtool.WriteSite(t, "", files)
	writeManifest(t, dir, files)
	return dir
}

// writeManifest writes the SHA256SUMS of files, and of extra, into dir.
func writeManifest(t testing.TB, dir string, files map[string]string, extra ...manifest.Entry) {
	t.Helper()
	entries := extra
	for p, content := range files {
		entries = append(entries, manifest.Entry{Path: p, Sum: sha256.Sum256([]byte(content))})
	}
	m, err := manifest.Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.Name), m, 0o644); err != nil {
		t.Fatal(err)
	}
}

var siteFiles = map[string]string{
	"index.html":                   "<h1>Briefings</h1>",
	"briefings/x/index.html":       `<section class="sealed" data-packet="packets/0a.age"></section>`,
	"packets/0a.age":               "age-encryption.org/v1\n-> X25519 …",
	"packets/keyrings/alice-x.age": "age-encryption.org/v1\n-> X25519 …",
	"css/conclave.css":             "body{}",
	"feed.xml":                     "<feed/>",
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signedSite(t testing.TB, key *ecdsa.PrivateKey) string {
	t.Helper()
	dir := writeSite(t, siteFiles)
	if _, err := Site(context.Background(), dir, Key{Private: key}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestKeyRoundTrip(t *testing.T) {
	key := newKey(t)
	dir := signedSite(t, key)
	rep, err := VerifySite(dir, Policy{Key: &key.PublicKey})
	if err != nil {
		t.Fatalf("VerifySite: %v", err)
	}
	if want := "key " + Fingerprint(&key.PublicKey); rep.Signature.Signer != want {
		t.Errorf("signer = %q, want %q", rep.Signature.Signer, want)
	}
	if len(rep.Entries) != len(siteFiles) {
		t.Errorf("entries = %d, want %d", len(rep.Entries), len(siteFiles))
	}
	// The bundle is a v0.3 bundle with a message signature and a public
	// key hint: what cosign verify-blob --key expects.
	var b struct {
		MediaType            string
		VerificationMaterial struct {
			PublicKey struct{ Hint string }
		}
		MessageSignature struct {
			MessageDigest struct{ Algorithm, Digest string }
		}
	}
	data := readFile(t, filepath.Join(dir, manifest.BundleName))
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if b.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" || b.VerificationMaterial.PublicKey.Hint == "" || b.MessageSignature.MessageDigest.Algorithm != "SHA2_256" {
		t.Errorf("bundle = %s", data)
	}
}

// TestTamperMatrix changes a signed site in every way the issue lists and
// checks that verification fails naming the problem.
func TestTamperMatrix(t *testing.T) {
	key := newKey(t)
	other := newKey(t)
	otherSite := signedSite(t, key) // same key, other release
	writeFileT(t, filepath.Join(otherSite, "index.html"), "<h1>Other</h1>")
	rebuildManifest(t, otherSite)
	if _, err := Site(context.Background(), otherSite, Key{Private: key}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string // in the error
	}{
		{"flipped byte in a page", flipByte("index.html"), "index.html: " + manifest.ReasonChanged},
		{"flipped byte in a sealed page", flipByte("briefings/x/index.html"), "briefings/x/index.html: " + manifest.ReasonChanged},
		{"flipped byte in a packet", flipByte("packets/0a.age"), "packets/0a.age: " + manifest.ReasonChanged},
		{"flipped byte in a keyring", flipByte("packets/keyrings/alice-x.age"), "alice-x.age: " + manifest.ReasonChanged},
		{"flipped byte in css", flipByte("css/conclave.css"), "conclave.css: " + manifest.ReasonChanged},
		{"flipped byte in the feed", flipByte("feed.xml"), "feed.xml: " + manifest.ReasonChanged},
		{"added file", writeF("evil.html", "x"), "evil.html: " + manifest.ReasonUnlisted},
		{"added folder", writeF("new/index.html", "x"), "new: " + manifest.ReasonFolder},
		{"added empty folder", func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "empty"), 0o755) }, "empty: " + manifest.ReasonFolder},
		{"removed file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "feed.xml")) }, "feed.xml: " + manifest.ReasonMissing},
		{"edited SHA256SUMS", editManifest(func(s string) string { return strings.Replace(s, "feed.xml", "feed.xmm", 1) }), "SHA256SUMS: does not match the digest its signature covers"},
		{"reordered SHA256SUMS", editManifest(func(s string) string {
			lines := strings.SplitAfter(s, "\n")
			lines[0], lines[1] = lines[1], lines[0]
			return strings.Join(lines, "")
		}), "SHA256SUMS: does not match the digest its signature covers"},
		{"line added to SHA256SUMS", editManifest(func(s string) string { return s + strings.Repeat("0", 64) + "  zz.html\n" }), "SHA256SUMS: does not match"},
		{"SHA256SUMS emptied", editManifest(func(string) string { return "" }), "SHA256SUMS: does not match"},
		{"SHA256SUMS removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, manifest.Name)) }, "not signed: no SHA256SUMS"},
		{"bundle removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, manifest.BundleName)) }, "not signed: no SHA256SUMS.sigstore.json"},
		{"bundle swapped with another release's", func(t *testing.T, dir string) {
			writeFileT(t, filepath.Join(dir, manifest.BundleName), string(readFile(t, filepath.Join(otherSite, manifest.BundleName))))
		}, "SHA256SUMS: does not match the digest its signature covers"},
		{"bundle truncated", editBundle(func(s string) string { return s[:len(s)/2] }), "SHA256SUMS.sigstore.json: not a valid Sigstore bundle"},
		{"bundle emptied", editBundle(func(string) string { return "" }), "SHA256SUMS.sigstore.json: not a valid Sigstore bundle"},
		{"bundle not JSON", editBundle(func(string) string { return "-----BEGIN PGP SIGNATURE-----" }), "not a valid Sigstore bundle"},
		{"bundle huge", editBundle(func(s string) string { return s + strings.Repeat(" ", maxBundle) }), "more than a bundle ever holds"},
		{"signature bytes changed", editBundle(func(s string) string { return flipBase64Field(t, s, "signature") }), "SHA256SUMS.sigstore.json: the signature does not verify with the key"},
		{"bundle from another key", func(t *testing.T, dir string) {
			if _, err := Site(context.Background(), dir, Key{Private: other}); err != nil {
				t.Fatal(err)
			}
		}, "the signature does not verify with the key " + Fingerprint(&key.PublicKey) + ": signed with another key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := signedSite(t, key)
			tt.change(t, dir)
			_, err := VerifySite(dir, Policy{Key: &key.PublicKey})
			if err == nil {
				t.Fatal("tampered site verified")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSignRefusesChangedSite(t *testing.T) {
	dir := writeSite(t, siteFiles)
	writeFileT(t, filepath.Join(dir, "index.html"), "defaced")
	_, err := Site(context.Background(), dir, Key{Private: newKey(t)})
	var l diag.List
	if !errors.As(err, &l) || !strings.Contains(err.Error(), "index.html: "+manifest.ReasonChanged) || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("Site = %v, want the problem and 'not signed'", err)
	}
	if _, err := os.Stat(filepath.Join(dir, manifest.BundleName)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a bundle was written for a changed site")
	}
}

func TestSignNoManifest(t *testing.T) {
	_, err := Site(context.Background(), t.TempDir(), Key{Private: newKey(t)})
	if err == nil || !strings.Contains(err.Error(), "no SHA256SUMS") {
		t.Errorf("Site = %v", err)
	}
}

func TestPolicyCheck(t *testing.T) {
	key := &newKey(t).PublicKey
	for _, tt := range []struct {
		p    Policy
		want string
	}{
		{Policy{}, "no signer"},
		{Policy{Key: key, Identity: "x", Issuer: "y"}, "not both"},
		{Policy{Identity: "x"}, "needs its OIDC issuer"},
		{Policy{Issuer: "y"}, "needs a certificate identity"},
		{Policy{Identity: "x", IdentityRegexp: "x", Issuer: "y"}, "not both"},
		{Policy{Key: key}, ""},
		{Policy{IdentityRegexp: "x", Issuer: "y"}, ""},
	} {
		err := tt.p.Check()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%+v) = %v, want %q", tt.p, err, tt.want)
		}
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFileT(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rebuildManifest writes the manifest of dir's files as they are now.
func rebuildManifest(t testing.TB, dir string) {
	t.Helper()
	var entries []manifest.Entry
	for p := range siteFiles {
		entries = append(entries, manifest.Entry{Path: p, Sum: sha256.Sum256(readFile(t, filepath.Join(dir, filepath.FromSlash(p))))})
	}
	m, err := manifest.Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(dir, manifest.Name), string(m))
}

func flipByte(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		data := readFile(t, full)
		data[len(data)-1] ^= 0x20
		writeFileT(t, full, string(data))
	}
}

func writeF(p, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) { writeFileT(t, filepath.Join(dir, filepath.FromSlash(p)), content) }
}

func editManifest(f func(string) string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, manifest.Name)
		writeFileT(t, p, f(string(readFile(t, p))))
	}
}

func editBundle(f func(string) string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, manifest.BundleName)
		writeFileT(t, p, f(string(readFile(t, p))))
	}
}

// flipBase64Field changes one character of the base64 value of the JSON
// field name in the bundle s.
func flipBase64Field(t testing.TB, s, name string) string {
	t.Helper()
	key := `"` + name + `":`
	i := strings.Index(s, key)
	if i < 0 {
		t.Fatalf("no %s in bundle", name)
	}
	j := strings.Index(s[i+len(key):], `"`) + i + len(key) + 1 + 10
	c := byte('A')
	if s[j] == 'A' {
		c = 'B'
	}
	return s[:j] + string(c) + s[j+1:]
}

// TestVerifyRefusesUnsafePaths: a manifest that lists an unsafe path is
// refused even when its signature is good (made here by signing such a
// manifest directly), with the line that lists it.
// signManifest writes m as the SHA256SUMS of the site at dir, whatever its
// files, and signs it with key, as a publisher holding the key could.
func signManifest(t testing.TB, key *ecdsa.PrivateKey, dir, m string) {
	t.Helper()
	writeFileT(t, filepath.Join(dir, manifest.Name), m)
	data, err := Bundle(context.Background(), Key{Private: key}, []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(dir, manifest.BundleName), string(data))
}

func TestVerifyRefusesUnsafePaths(t *testing.T) {
	key := newKey(t)
	h := strings.Repeat("ab", 32)
	for _, tt := range []struct{ name, line, want string }{
		{"absolute", h + "  /etc/passwd\n", "SHA256SUMS:2: unsafe output path \"/etc/passwd\""},
		{"dot-dot", h + "  ../outside.html\n", "SHA256SUMS:2: unsafe output path \"../outside.html\""},
		{"inner dot-dot", h + "  b/../../x\n", "SHA256SUMS:2: unsafe output path"},
		{"backslash", h + "  b\\..\\x\n", "SHA256SUMS:2: unsafe output path"},
		{"newline", h + "  b\n\n", "SHA256SUMS:3: want"},
		{"carriage return", h + "  b\r\n", "SHA256SUMS:2: unsafe output path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeSite(t, map[string]string{"a.html": "a"})
			p := filepath.Join(dir, manifest.Name)
			signManifest(t, key, dir, string(readFile(t, p))+tt.line)
			_, err := VerifySite(dir, Policy{Key: &key.PublicKey})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifySite = %v, want %q", err, tt.want)
			}
		})
	}
}

// A site whose manifest lists a packet larger than any reader accepts is
// not signed: verify and open would refuse it, so the release would be
// signed but unreadable. The size limit stops the signature before the
// packet is hashed (a packet may hold a 4 GiB attachment: 5 GiB at most).
func TestSignRefusesWhatReadersRefuse(t *testing.T) {
	files := maps.Clone(siteFiles)
	delete(files, "packets/0a.age")
	dir := testtool.WriteSite(t, "", files)
	big := filepath.Join(dir, "packets", "0a.age")
	testtool.SparseFile(t, big, manifest.MaxAttachmentPacket+1)
	writeManifest(t, dir, files, manifest.Entry{Path: "packets/0a.age", Sum: [32]byte{1}})
	_, err := Site(context.Background(), dir, Key{Private: newKey(t)})
	if err == nil || !strings.Contains(err.Error(), "packets/0a.age") || !strings.Contains(err.Error(), "too large") || !strings.Contains(err.Error(), "(5 GiB at most)") {
		t.Fatalf("signing a site with a %d-byte packet: %v, want a refusal naming the packet and the limit", int64(manifest.MaxAttachmentPacket)+1, err)
	}
	if _, err := os.Stat(filepath.Join(dir, manifest.BundleName)); !os.IsNotExist(err) {
		t.Errorf("a bundle was written: %v", err)
	}
}
