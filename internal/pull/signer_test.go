package pull

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/sign"
	"github.com/conclave-dev/conclave/internal/sign/sigstoretest"
)

// TestPullRemembersKey: the first pull remembers the signer's key; later
// pulls use it without being told, refuse another key given, and refuse a
// release signed with another key, leaving the mirror as it was.
func TestPullRemembersKey(t *testing.T) {
	f := newFixture(t)
	v1 := f.release(nil)
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")

	// No signer on a first pull: refused before anything is written or
	// asked for.
	_, err := Pull(context.Background(), srv.options(dir, nil, f.ids["bob"]))
	if ns := (*NoSignerError)(nil); !errors.As(err, &ns) {
		t.Fatalf("first pull without a signer: %v", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a first pull without a signer made %s: %v", dir, err)
	}
	if asked, _ := srv.requests(); len(asked) != 0 {
		t.Errorf("a first pull without a signer asked for %v", asked)
	}

	// The wrong key on a first pull: refused, and not remembered.
	other := newKey(t)
	_, err = Pull(context.Background(), srv.options(dir, &Signer{Key: &other.PublicKey}, f.ids["bob"]))
	if err == nil || !strings.Contains(err.Error(), "/site/SHA256SUMS.sigstore.json: the signature does not verify with the key "+sign.Fingerprint(&other.PublicKey)) {
		t.Fatalf("first pull with another key: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, StateDir, StateFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a signer that did not verify was remembered: %v", err)
	}

	pullOK(t, srv.options(dir, f.signer(), f.ids["bob"]))
	state := readFile(t, filepath.Join(dir, StateDir, StateFile))
	if !strings.Contains(state, "-----BEGIN PUBLIC KEY-----") || !strings.Contains(state, srv.siteURL()) {
		t.Errorf("pull.json:\n%s", state)
	}
	mirror := snapshot(t, filepath.Join(dir, MirrorDir))
	srv.requests()

	// Another key given later: refused before anything is asked for.
	_, err = Pull(context.Background(), srv.options(dir, &Signer{Key: &other.PublicKey}, f.ids["bob"]))
	var se *SignerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "was first pulled from a site signed by key "+sign.Fingerprint(&f.key.PublicKey)) ||
		!strings.Contains(err.Error(), "the signer given now is key "+sign.Fingerprint(&other.PublicKey)+": refused") {
		t.Errorf("another key given: %v", err)
	}
	if asked, _ := srv.requests(); len(asked) != 0 {
		t.Errorf("with another key given, the pull asked for %v", asked)
	}
	// The same key given again is fine.
	pullOK(t, srv.options(dir, f.signer(), f.ids["bob"]))

	// A release signed with another key: refused.
	srv.serve(f.release(other))
	_, err = Pull(context.Background(), srv.options(dir, nil, f.ids["bob"]))
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "/site/SHA256SUMS.sigstore.json: not signed by key "+sign.Fingerprint(&f.key.PublicKey)+", the signer remembered in "+filepath.Join(dir, StateDir, StateFile)) {
		t.Errorf("a release signed with another key: %v", err)
	}
	sameTree(t, "the mirror", mirror, snapshot(t, filepath.Join(dir, MirrorDir)))
}

// TestPullRemembersIdentity: a keyless signer's identity and issuer are
// remembered, with the trusted root file.
func TestPullRemembersIdentity(t *testing.T) {
	sig := sigstoretest.Start(t)
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(rootFile, sig.TrustedRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	v1 := f.release(nil)
	keyless := sign.Keyless{Token: sig.EmailToken("https://accounts.example.org", "psirt@example.org"), FulcioURL: sig.FulcioURL, RekorURL: sig.RekorURL, TSAURL: sig.TSAURL}
	if _, err := sign.Site(context.Background(), v1, keyless); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	signer := &Signer{Identity: "psirt@example.org", Issuer: "https://accounts.example.org", TrustedRoot: rootFile}
	rep := pullOK(t, srv.options(dir, signer, f.ids["carol"]))
	if rep.Signer != "psirt@example.org (issuer https://accounts.example.org)" || rep.Signed.IsZero() {
		t.Errorf("signer %q, signed %v", rep.Signer, rep.Signed)
	}
	pullOK(t, srv.options(dir, nil, f.ids["carol"]))
	// The identity as a regular expression is another signer.
	_, err := Pull(context.Background(), srv.options(dir, &Signer{IdentityRegexp: ".*", Issuer: "https://accounts.example.org"}, f.ids["carol"]))
	if se := (*SignerError)(nil); !errors.As(err, &se) || !strings.Contains(err.Error(), "signed by psirt@example.org (issuer https://accounts.example.org)") {
		t.Errorf("another identity given: %v", err)
	}
	// A release signed with a key is refused.
	srv.serve(f.release(nil))
	_, err = Pull(context.Background(), srv.options(dir, nil, f.ids["carol"]))
	if se := (*SignerError)(nil); !errors.As(err, &se) || !strings.Contains(err.Error(), "signed with a key, not keylessly") {
		t.Errorf("a release signed with a key: %v", err)
	}
}
