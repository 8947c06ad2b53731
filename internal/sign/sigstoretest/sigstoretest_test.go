package sigstoretest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/conclave-dev/conclave/internal/sign/sigstoretest"
)

const (
	repo     = "conclave-dev/site"
	workflow = "release.yml"
	ref      = "refs/tags/v1.2.3"
	// workflowSAN is the certificate identity GitHubToken(repo, workflow, ref) gets.
	workflowSAN = "https://github.com/conclave-dev/site/.github/workflows/release.yml@refs/tags/v1.2.3"
)

// trustedRoot loads the server's trusted root as a verifier would.
func trustedRoot(t *testing.T, s *sigstoretest.Server) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRoot)
	if err != nil {
		t.Fatalf("NewTrustedRootFromJSON: %v", err)
	}
	return tr
}

// bundleOptions returns sign.BundleOptions using all three fake services.
func bundleOptions(s *sigstoretest.Server, token string) sign.BundleOptions {
	return sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TimestampAuthorities: []*sign.TimestampAuthority{
			sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL}),
		},
		TransparencyLogs: []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL})},
		Context:          context.Background(),
	}
}

// signKeyless signs content with an ephemeral key and a certificate for token.
func signKeyless(t *testing.T, s *sigstoretest.Server, content sign.Content, token string) *protobundle.Bundle {
	t.Helper()
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatalf("NewEphemeralKeypair: %v", err)
	}
	pb, err := sign.Bundle(content, keypair, bundleOptions(s, token))
	if err != nil {
		t.Fatalf("sign.Bundle: %v", err)
	}
	return pb
}

// roundTripJSON writes b as protojson and reads it back through
// sigstore-go's bundle package, as a verifier given the file would.
func roundTripJSON(t *testing.T, pb *protobundle.Bundle) *bundle.Bundle {
	t.Helper()
	data, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatalf("protojson.Marshal: %v", err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		t.Fatalf("bundle.UnmarshalJSON: %v", err)
	}
	if !proto.Equal(b.Bundle, pb) {
		t.Fatal("bundle changed in a JSON round trip")
	}
	again, err := b.MarshalJSON()
	if err != nil {
		t.Fatalf("bundle.MarshalJSON: %v", err)
	}
	var b2 bundle.Bundle
	if err := b2.UnmarshalJSON(again); err != nil || !proto.Equal(b2.Bundle, pb) {
		t.Fatalf("bundle did not survive a second JSON round trip (err %v)", err)
	}
	return &b
}

// verifyArtifact verifies b over artifact for one identity, requiring a
// signed timestamp and a transparency log entry.
func verifyArtifact(t *testing.T, tr root.TrustedMaterial, b *bundle.Bundle, artifact []byte, issuer, san string) (*verify.VerificationResult, error) {
	t.Helper()
	v, err := verify.NewVerifier(tr, verify.WithSignedTimestamps(1), verify.WithTransparencyLog(1))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		t.Fatalf("NewShortCertificateIdentity: %v", err)
	}
	return v.Verify(b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(artifact)), verify.WithCertificateIdentity(id)))
}

func TestKeylessRoundTrip(t *testing.T) {
	s := sigstoretest.Start(t)
	tr := trustedRoot(t, s)
	artifact := []byte("release tarball contents\n")

	opts := bundleOptions(s, s.GitHubToken(repo, workflow, ref))
	opts.TrustedRoot = tr // sign.Bundle verifies what it made, too
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.PlainData{Data: artifact}, keypair, opts)
	if err != nil {
		t.Fatalf("sign.Bundle: %v", err)
	}
	if f, r, ts := s.Requests(); f != 1 || r != 1 || ts != 1 {
		t.Errorf("Requests() = %d, %d, %d; want 1, 1, 1", f, r, ts)
	}
	b := roundTripJSON(t, pb)
	if !b.MinVersion("v0.3") {
		t.Errorf("bundle media type %s, want v0.3", pb.GetMediaType())
	}
	if got := len(b.GetVerificationMaterial().GetTlogEntries()); got != 1 {
		t.Fatalf("%d tlog entries, want 1", got)
	}
	tle := b.GetVerificationMaterial().GetTlogEntries()[0]
	if tle.GetInclusionPromise() == nil || tle.GetInclusionProof() == nil {
		t.Error("tlog entry lacks an inclusion promise or proof")
	}
	if tle.GetLogIndex() != tle.GetInclusionProof().GetLogIndex() {
		t.Errorf("entry log index %d, proof log index %d", tle.GetLogIndex(), tle.GetInclusionProof().GetLogIndex())
	}

	t.Run("right identity", func(t *testing.T) {
		res, err := verifyArtifact(t, tr, b, artifact, sigstoretest.GitHubIssuer, workflowSAN)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if len(res.VerifiedTimestamps) != 1 || res.VerifiedTimestamps[0].URI != s.TSAURL {
			t.Errorf("verified timestamps %+v, want the TSA's", res.VerifiedTimestamps)
		}
		cert := res.Signature.Certificate
		if cert == nil {
			t.Fatal("no certificate summary")
		}
		want := certificate.Extensions{
			Issuer:                   sigstoretest.GitHubIssuer,
			GithubWorkflowTrigger:    "push",
			GithubWorkflowRepository: repo,
			GithubWorkflowRef:        ref,
			BuildSignerURI:           workflowSAN,
			RunnerEnvironment:        "github-hosted",
			SourceRepositoryURI:      "https://github.com/" + repo,
			SourceRepositoryRef:      ref,
			SourceRepositoryOwnerURI: "https://github.com/conclave-dev",
			BuildConfigURI:           workflowSAN,
			BuildTrigger:             "push",
		}
		if cert.Extensions != want {
			t.Errorf("certificate extensions\n got %+v\nwant %+v", cert.Extensions, want)
		}
		if cert.SubjectAlternativeName != workflowSAN {
			t.Errorf("SAN %q, want %q", cert.SubjectAlternativeName, workflowSAN)
		}
	})
	other := trustedRoot(t, sigstoretest.Start(t))
	for _, tc := range []struct {
		name, issuer, san string
		artifact          []byte
		tr                root.TrustedMaterial
		want              string
	}{
		{"other workflow", sigstoretest.GitHubIssuer,
			"https://github.com/conclave-dev/site/.github/workflows/other.yml@refs/tags/v1.2.3",
			artifact, tr, "expected SAN value"},
		{"other issuer", "https://accounts.example.com", workflowSAN, artifact, tr, "expected issuer value"},
		{"other artifact", sigstoretest.GitHubIssuer, workflowSAN, []byte("tampered"), tr, "failed to verify signature"},
		{"other deployment", sigstoretest.GitHubIssuer, workflowSAN, artifact, other, "not enough verified log entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyArtifact(t, tc.tr, b, tc.artifact, tc.issuer, tc.san)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify: %v; want an error with %q", err, tc.want)
			}
		})
	}
}

func TestEmailIdentity(t *testing.T) {
	s := sigstoretest.Start(t)
	const issuer, email = "https://accounts.example.com", "release@example.com"
	artifact := []byte("artifact")
	b := roundTripJSON(t, signKeyless(t, s, &sign.PlainData{Data: artifact}, s.EmailToken(issuer, email)))
	tr := trustedRoot(t, s)
	res, err := verifyArtifact(t, tr, b, artifact, issuer, email)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := res.Signature.Certificate.Issuer; got != issuer {
		t.Errorf("certificate issuer %q, want %q", got, issuer)
	}
	if _, err := verifyArtifact(t, tr, b, artifact, issuer, "someone@example.com"); err == nil {
		t.Error("verified with another email")
	}
}

func TestDSSERoundTrip(t *testing.T) {
	s := sigstoretest.Start(t)
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`)
	content := &sign.DSSEData{Data: statement, PayloadType: "application/vnd.in-toto+json"}
	b := roundTripJSON(t, signKeyless(t, s, content, s.GitHubToken(repo, workflow, ref)))
	v, err := verify.NewVerifier(trustedRoot(t, s), verify.WithSignedTimestamps(1), verify.WithTransparencyLog(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(sigstoretest.GitHubIssuer, "", workflowSAN, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(id))); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if kind := b.GetVerificationMaterial().GetTlogEntries()[0].GetKindVersion().GetKind(); kind != "dsse" {
		t.Errorf("tlog entry kind %q, want dsse", kind)
	}
}

// fulcioRequest posts a signing certificate request as sigstore-go would,
// but with the proof of possession computed over pop instead of the
// token's subject, and returns the status and body.
func fulcioRequest(t *testing.T, s *sigstoretest.Server, token, pop string) (int, string) {
	t.Helper()
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, _, err := keypair.SignData(context.Background(), []byte(pop))
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := keypair.GetPublicKeyPem()
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]string{"algorithm": keypair.GetKeyAlgorithm(), "content": pubPEM},
			"proofOfPossession": base64.StdEncoding.EncodeToString(sig),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.FulcioURL+"/api/v2/signingCert", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

func TestFulcioProofOfPossession(t *testing.T) {
	s := sigstoretest.Start(t)
	token := s.GitHubToken(repo, workflow, ref)
	if code, msg := fulcioRequest(t, s, token, "repo:"+repo+":ref:"+ref); code != http.StatusOK {
		t.Fatalf("PoP over sub: %d %s", code, msg)
	}
	code, msg := fulcioRequest(t, s, token, "repo:"+repo+":ref:refs/heads/main")
	if code != http.StatusBadRequest || !strings.Contains(msg, "proof of possession") {
		t.Errorf("PoP over another subject: %d %s; want 400 about the proof of possession", code, msg)
	}
	// For an email identity the proof covers the email, not sub.
	emailToken := s.EmailToken("https://accounts.example.com", "a@example.com")
	if code, msg := fulcioRequest(t, s, emailToken, "a@example.com"); code != http.StatusOK {
		t.Errorf("PoP over email: %d %s", code, msg)
	}
	if f, r, ts := s.Requests(); f != 3 || r != 0 || ts != 0 {
		t.Errorf("Requests() = %d, %d, %d; want 3, 0, 0", f, r, ts)
	}
}

func TestFulcioRejectsTokens(t *testing.T) {
	s := sigstoretest.Start(t)
	now := time.Now()
	claims := func(edit func(map[string]any)) string {
		c := map[string]any{
			"iss": sigstoretest.GitHubIssuer, "aud": "sigstore", "sub": "repo:a/b:ref:refs/heads/main",
			"job_workflow_ref": "a/b/.github/workflows/w.yml@refs/heads/main",
			"iat":              now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		edit(c)
		return s.Token(c)
	}
	for _, tc := range []struct {
		name, token, want string
	}{
		{"no token", "", "missing identity token"},
		{"not a JWT", "garbage", "not a JWT"},
		{"other audience", claims(func(c map[string]any) { c["aud"] = "other" }), "audience"},
		{"audience list", claims(func(c map[string]any) { c["aud"] = []string{"x", "y"} }), "audience"},
		{"expired", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), "expired"},
		{"no exp", claims(func(c map[string]any) { delete(c, "exp") }), "exp"},
		{"no job_workflow_ref", claims(func(c map[string]any) { delete(c, "job_workflow_ref") }), "job_workflow_ref"},
		{"unverified email", claims(func(c map[string]any) {
			c["iss"], c["email"], c["email_verified"] = "https://accounts.example.com", "a@example.com", false
		}), "not verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := fulcioRequest(t, s, tc.token, "repo:a/b:ref:refs/heads/main")
			if code != http.StatusUnauthorized || !strings.Contains(msg, tc.want) {
				t.Errorf("got %d %s; want 401 mentioning %q", code, msg, tc.want)
			}
		})
	}
	// An audience list including sigstore is fine.
	ok := claims(func(c map[string]any) { c["aud"] = []string{"x", "sigstore"} })
	if code, msg := fulcioRequest(t, s, ok, "repo:a/b:ref:refs/heads/main"); code != http.StatusOK {
		t.Errorf("aud list with sigstore: %d %s", code, msg)
	}

	// sigstore-go's client surfaces the rejection.
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.FulcioURL}).GetCertificate(context.Background(), keypair,
		&sign.CertificateProviderOptions{IDToken: claims(func(c map[string]any) { c["aud"] = "other" })})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("GetCertificate with another audience: %v; want a 401", err)
	}
}

func TestFulcioChain(t *testing.T) {
	s := sigstoretest.Start(t)
	code, body := fulcioRequest(t, s, s.GitHubToken(repo, workflow, ref), "repo:"+repo+":ref:"+ref)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var resp struct {
		SignedCertificateEmbeddedSct struct {
			Chain struct{ Certificates []string } `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for i, p := range resp.SignedCertificateEmbeddedSct.Chain.Certificates {
		block, rest := pem.Decode([]byte(p))
		if block == nil || len(bytes.TrimSpace(rest)) != 0 {
			t.Fatalf("certificate %d is not one PEM block", i)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) != 3 {
		t.Fatalf("chain of %d certificates, want leaf, intermediate, root", len(chain))
	}
	ca := trustedRoot(t, s).FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	leaf := chain[0]
	if !chain[1].Equal(ca.Intermediates[0]) || !chain[2].Equal(ca.Root) {
		t.Error("chain after the leaf is not the trusted root's intermediate and root")
	}
	if err := leaf.CheckSignatureFrom(chain[1]); err != nil {
		t.Errorf("leaf not signed by the intermediate: %v", err)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 10*time.Minute {
		t.Errorf("leaf valid for %v, want 10m", d)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("leaf EKU %v, want code signing", leaf.ExtKeyUsage)
	}
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != workflowSAN {
		t.Errorf("leaf SAN URIs %v, want %s", leaf.URIs, workflowSAN)
	}
	var raw, der []byte
	for _, e := range leaf.Extensions {
		switch {
		case e.Id.Equal(certificate.OIDIssuer):
			raw = e.Value
		case e.Id.Equal(certificate.OIDIssuerV2):
			der = e.Value
		}
	}
	var v2 string
	if _, err := asn1.Unmarshal(der, &v2); err != nil || v2 != sigstoretest.GitHubIssuer || der[0] != asn1.TagUTF8String {
		t.Errorf("issuer extension 1.8 = %x, want the issuer as a DER UTF8String", der)
	}
	if string(raw) != sigstoretest.GitHubIssuer {
		t.Errorf("issuer extension 1.1 = %q, want the raw issuer", raw)
	}
}

func TestRekorConflict(t *testing.T) {
	s := sigstoretest.Start(t)
	pb := signKeyless(t, s, &sign.PlainData{Data: []byte("x")}, s.GitHubToken(repo, workflow, ref))
	certPEM := "-----BEGIN CERTIFICATE-----\n" +
		base64.StdEncoding.EncodeToString(pb.GetVerificationMaterial().GetCertificate().GetRawBytes()) +
		"\n-----END CERTIFICATE-----\n"
	// Submitting the same signature again: Rekor answers 409 and the
	// client fetches the existing entry.
	rekor := sign.NewRekor(&sign.RekorOptions{BaseURL: s.RekorURL})
	if err := rekor.GetTransparencyLogEntry(context.Background(), []byte(certPEM), pb); err != nil {
		t.Fatalf("resubmitting: %v", err)
	}
	entries := pb.GetVerificationMaterial().GetTlogEntries()
	if len(entries) != 2 || !proto.Equal(entries[0], entries[1]) {
		t.Errorf("resubmission gave %d entries, or a different one", len(entries))
	}
	if _, r, _ := s.Requests(); r != 3 {
		t.Errorf("%d Rekor requests, want 3 (POST, POST 409, GET)", r)
	}
}

func TestTimestampAuthority(t *testing.T) {
	s := sigstoretest.Start(t)
	signature := []byte("a signature")
	digest := sha512.Sum384(signature)
	nonce := big.NewInt(424242)
	query, err := (&timestamp.Request{
		HashAlgorithm: crypto.SHA384,
		HashedMessage: digest[:],
		Nonce:         nonce,
		Certificates:  true,
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.TSAURL, "application/timestamp-query", bytes.NewReader(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), reply)
	}
	ts, err := timestamp.ParseResponse(reply)
	if err != nil {
		t.Fatal(err)
	}
	if ts.HashAlgorithm != crypto.SHA384 || !bytes.Equal(ts.HashedMessage, digest[:]) || ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		t.Errorf("reply does not echo the query: %v %x %v", ts.HashAlgorithm, ts.HashedMessage, ts.Nonce)
	}
	if len(ts.Certificates) != 3 {
		t.Errorf("reply carries %d certificates, want the chain of 3", len(ts.Certificates))
	}
	if d := time.Since(ts.Time); d < -time.Second || d > time.Minute {
		t.Errorf("timestamp time %v", ts.Time)
	}
	tsa := trustedRoot(t, s).TimestampingAuthorities()[0]
	if _, err := tsa.Verify(reply, signature); err != nil {
		t.Errorf("trusted root's TSA rejects the reply: %v", err)
	}

	bad, err := http.Post(s.TSAURL, "application/timestamp-query", strings.NewReader("not DER"))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Errorf("garbage query: %d, want 400", bad.StatusCode)
	}
	if _, _, n := s.Requests(); n != 2 {
		t.Errorf("%d TSA requests, want 2", n)
	}
}

func TestTrustedRootAndSigningConfig(t *testing.T) {
	s := sigstoretest.Start(t)
	tr := trustedRoot(t, s)
	if n := len(tr.FulcioCertificateAuthorities()); n != 1 {
		t.Errorf("%d CAs, want 1", n)
	}
	if n := len(tr.TimestampingAuthorities()); n != 1 {
		t.Errorf("%d TSAs, want 1", n)
	}
	if n := len(tr.RekorLogs()); n != 1 {
		t.Errorf("%d Rekor logs, want 1", n)
	}
	if n := len(tr.CTLogs()); n != 0 {
		t.Errorf("%d CT logs, want 0", n)
	}
	for id, log := range tr.RekorLogs() {
		if len(log.ID) != 32 {
			t.Errorf("log %s has a %d-byte ID, want the 32-byte key hash", id, len(log.ID))
		}
	}

	sc, err := root.NewSigningConfigFromJSON(s.SigningConfig)
	if err != nil {
		t.Fatalf("NewSigningConfigFromJSON: %v", err)
	}
	for _, c := range []struct {
		name     string
		services []root.Service
		versions []uint32
		want     string
	}{
		{"fulcio", sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, s.FulcioURL},
		{"rekor", sc.RekorLogURLs(), sign.RekorAPIVersions, s.RekorURL},
		{"tsa", sc.TimestampAuthorityURLs(), sign.TimestampAuthorityAPIVersions, s.TSAURL},
	} {
		svc, err := root.SelectService(c.services, c.versions, time.Now())
		if err != nil || svc.URL != c.want {
			t.Errorf("%s: selected %q (%v), want %q", c.name, svc.URL, err, c.want)
		}
	}
}

func TestKeyBasedSigningContactsNothing(t *testing.T) {
	s := sigstoretest.Start(t)
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Bundle(&sign.PlainData{Data: []byte("x")}, keypair, sign.BundleOptions{}); err != nil {
		t.Fatal(err)
	}
	if f, r, ts := s.Requests(); f+r+ts != 0 {
		t.Errorf("Requests() = %d, %d, %d; want none", f, r, ts)
	}
}
