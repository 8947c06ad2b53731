package sign

import (
	"context"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/conclave-dev/conclave/internal/sign/sigstoretest"
)

const (
	workflow      = "https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main"
	otherWorkflow = "https://github.com/acme/briefings/.github/workflows/evil.yml@refs/heads/main"
)

func trustedRoot(t *testing.T, s *sigstoretest.Server) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func keyless(s *sigstoretest.Server, token string, tr root.TrustedMaterial) Keyless {
	return Keyless{Token: token, FulcioURL: s.FulcioURL, RekorURL: s.RekorURL, TSAURL: s.TSAURL, TrustedRoot: tr}
}

// TestKeylessRoundTrip signs as a GitHub Actions workflow against an
// offline Sigstore (test CA, Rekor log, timestamp authority) and checks the
// identity policies that accept it and those that refuse it.
func TestKeylessRoundTrip(t *testing.T) {
	s := sigstoretest.Start(t)
	tr := trustedRoot(t, s)
	dir := writeSite(t, siteFiles)
	res, err := Site(context.Background(), dir, keyless(s, s.GitHubToken("acme/briefings", "publish.yml", "refs/heads/main"), tr))
	if err != nil {
		t.Fatalf("keyless Site: %v", err)
	}
	if !res.Verified || res.Signer != workflow+" (issuer "+sigstoretest.GitHubIssuer+")" {
		t.Errorf("result = %+v", res)
	}
	if f, r, ts := s.Requests(); f != 1 || r != 1 || ts != 1 {
		t.Errorf("requests: fulcio %d, rekor %d, tsa %d; want one each", f, r, ts)
	}

	ok := []Policy{
		{Identity: workflow, Issuer: sigstoretest.GitHubIssuer},
		{IdentityRegexp: `^https://github\.com/acme/briefings/\.github/workflows/publish\.yml@refs/heads/.*$`, Issuer: sigstoretest.GitHubIssuer},
		{Identity: workflow, IssuerRegexp: `^https://token\.actions\.githubusercontent\.com$`},
	}
	for _, p := range ok {
		p.TrustedRoot = tr
		rep, err := VerifySite(dir, p)
		if err != nil {
			t.Errorf("VerifySite(%+v): %v", p, err)
			continue
		}
		if rep.Signature.Time.IsZero() {
			t.Error("no verified timestamp")
		}
	}

	otherRoot := trustedRoot(t, sigstoretest.Start(t))
	refused := []struct {
		p    Policy
		want string
	}{
		{Policy{Identity: otherWorkflow, Issuer: sigstoretest.GitHubIssuer, TrustedRoot: tr}, "signed by " + workflow + " (issuer " + sigstoretest.GitHubIssuer + "), not by the expected identity " + otherWorkflow},
		{Policy{IdentityRegexp: `^https://github\.com/acme/other/`, Issuer: sigstoretest.GitHubIssuer, TrustedRoot: tr}, "not by the expected identity matching"},
		// Regular expressions match whole values: a bare substring
		// (which cosign would accept) is not enough.
		{Policy{IdentityRegexp: `acme/briefings`, Issuer: sigstoretest.GitHubIssuer, TrustedRoot: tr}, "not by the expected identity matching acme/briefings"},
		{Policy{Identity: workflow, IssuerRegexp: `token\.actions`, TrustedRoot: tr}, "not by the expected identity"},
		{Policy{Identity: workflow, Issuer: "https://accounts.google.com", TrustedRoot: tr}, "not by the expected identity"},
		// A prefix is not a match: regexps match whole values only when
		// anchored, and exact identities never match a prefix.
		{Policy{Identity: "https://github.com/acme/briefings/", Issuer: sigstoretest.GitHubIssuer, TrustedRoot: tr}, "not by the expected identity"},
		{Policy{Identity: workflow, Issuer: sigstoretest.GitHubIssuer, TrustedRoot: otherRoot}, "does not verify against the trusted root"},
		{Policy{Key: &newKey(t).PublicKey}, "signed keylessly by " + workflow},
	}
	for _, tt := range refused {
		_, err := VerifySite(dir, tt.p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("VerifySite(%+v) = %v, want %q", tt.p, err, tt.want)
		}
	}

	// Tampering after keyless signing fails like after key signing.
	flipByte("packets/0a.age")(t, dir)
	if _, err := VerifySite(dir, Policy{Identity: workflow, Issuer: sigstoretest.GitHubIssuer, TrustedRoot: tr}); err == nil || !strings.Contains(err.Error(), "0a.age: content does not match") {
		t.Errorf("tampered keyless site: %v", err)
	}
}

func TestKeyBundleRefusedByIdentityPolicy(t *testing.T) {
	s := sigstoretest.Start(t)
	dir := signedSite(t, newKey(t))
	_, err := VerifySite(dir, Policy{Identity: workflow, Issuer: sigstoretest.GitHubIssuer, TrustedRoot: trustedRoot(t, s)})
	if err == nil || !strings.Contains(err.Error(), "signed with a key, not keylessly") {
		t.Errorf("VerifySite = %v", err)
	}
	if f, r, ts := s.Requests(); f+r+ts != 0 {
		t.Errorf("key signing or verifying contacted the Sigstore services: %d, %d, %d", f, r, ts)
	}
}

func TestKeylessEmailIdentity(t *testing.T) {
	s := sigstoretest.Start(t)
	tr := trustedRoot(t, s)
	dir := writeSite(t, siteFiles)
	if _, err := Site(context.Background(), dir, keyless(s, s.EmailToken("https://accounts.example.org", "psirt@example.org"), tr)); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySite(dir, Policy{Identity: "psirt@example.org", Issuer: "https://accounts.example.org", TrustedRoot: tr}); err != nil {
		t.Error(err)
	}
}

func TestKeylessRefusedByFulcio(t *testing.T) {
	s := sigstoretest.Start(t)
	dir := writeSite(t, siteFiles)
	token := s.Token(map[string]any{"iss": sigstoretest.GitHubIssuer, "sub": "x", "aud": "not-sigstore", "exp": 4102444800})
	_, err := Site(context.Background(), dir, keyless(s, token, trustedRoot(t, s)))
	if err == nil || !strings.Contains(err.Error(), "keyless signing") {
		t.Errorf("Site = %v", err)
	}
	if _, err := Site(context.Background(), dir, Keyless{FulcioURL: s.FulcioURL}); err == nil || !strings.Contains(err.Error(), "needs an OIDC identity token") {
		t.Errorf("no token: %v", err)
	}
}
