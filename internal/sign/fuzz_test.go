package sign

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/conclave-dev/conclave/internal/manifest"
)

// FuzzVerifyBundle feeds arbitrary bytes to bundle loading and
// verification: it never panics, and nothing but the real bundle verifies
// the real manifest.
func FuzzVerifyBundle(f *testing.F) {
	key := newKey(f)
	dir := writeSite(f, siteFiles)
	if _, err := Site(context.Background(), dir, Key{Private: key}); err != nil {
		f.Fatal(err)
	}
	good := readFile(f, filepath.Join(dir, manifest.BundleName))
	m := readFile(f, filepath.Join(dir, manifest.Name))
	f.Add(good)
	f.Add([]byte("{}"))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add(bytes.Replace(good, []byte("publicKey"), []byte("x509CertificateChain"), 1))
	f.Add(bytes.Replace(good, []byte("messageSignature"), []byte("dsseEnvelope"), 1))
	f.Add(good[:len(good)/3])
	p := Policy{Key: &key.PublicKey}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := p.Verify(data, m)
		if err == nil && !bytes.Equal(bytes.TrimSpace(data), bytes.TrimSpace(good)) {
			// protojson accepts other spellings of the same bundle
			// (field order, spaces, base64 padding): they must carry
			// the very same signature.
			b, perr := parseBundle(data)
			if perr != nil || !bytes.Equal(b.GetMessageSignature().GetSignature(), mustSig(t, good)) {
				t.Fatalf("a different bundle verified:\n%s", data)
			}
		}
		// Identity policies take the same bytes without panicking.
		Policy{Identity: "x", Issuer: "y", TrustedRoot: nil}.Verify(data, m)
	})
}

func mustSig(t *testing.T, bundle []byte) []byte {
	b, err := parseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return b.GetMessageSignature().GetSignature()
}
