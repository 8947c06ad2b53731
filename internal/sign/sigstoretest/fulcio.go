package sigstoretest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// leafLifetime is how long Fulcio leaf certificates are valid; they start a
// minute before issue.
const leafLifetime = 10 * time.Minute

// signingCertRequest is the body of POST /api/v2/signingCert
// (fulcio.v2.CreateSigningCertificateRequest in JSON).
type signingCertRequest struct {
	Credentials *struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest *struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
	CertificateSigningRequest string `json:"certificateSigningRequest"`
}

// certificateChain is fulcio.v2.CertificateChain: PEM certificates, leaf
// first.
type certificateChain struct {
	Certificates []string `json:"certificates"`
}

// handleSigningCert serves POST /api/v2/signingCert: it checks the identity
// token's claims and the proof of possession, then issues a code signing
// certificate for the request's public key. Token problems are answered
// 401, request problems 400, as Fulcio does.
func (s *Server) handleSigningCert(w http.ResponseWriter, r *http.Request) {
	var req signingCertRequest
	decodeErr := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req)
	// The token comes in the Authorization header, as sigstore-go sends
	// it, or in the body's credentials.
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && decodeErr == nil && req.Credentials != nil {
		token = req.Credentials.OIDCIdentityToken
	}
	if token == "" {
		writeError(w, http.StatusUnauthorized, "missing identity token (Authorization: Bearer ...)")
		return
	}
	claims, err := parseToken(token)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid identity token: %v", err)
		return
	}
	p, err := principalFromClaims(claims, time.Now())
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid identity token: %v", err)
		return
	}

	if decodeErr != nil {
		writeError(w, http.StatusBadRequest, "decoding request: %v", decodeErr)
		return
	}
	if req.CertificateSigningRequest != "" {
		writeError(w, http.StatusBadRequest, "certificate signing requests are not supported by sigstoretest; send publicKeyRequest")
		return
	}
	if req.PublicKeyRequest == nil || req.PublicKeyRequest.PublicKey.Content == "" {
		writeError(w, http.StatusBadRequest, "publicKeyRequest.publicKey.content is required")
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		writeError(w, http.StatusBadRequest, "parsing public key: %v", err)
		return
	}
	if err := cryptoutils.ValidatePubKey(pub); err != nil {
		writeError(w, http.StatusBadRequest, "unacceptable public key: %v", err)
		return
	}
	if err := checkProofOfPossession(pub, req.PublicKeyRequest.ProofOfPossession, p.challenge); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}

	leaf, err := s.issue(pub, p)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "issuing certificate: %v", err)
		return
	}
	chain := certificateChain{}
	for _, c := range []*x509.Certificate{leaf, s.fulcioIntermediate, s.fulcioRoot} {
		chain.Certificates = append(chain.Certificates, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": chain},
	})
}

// checkProofOfPossession checks, as Fulcio does, that proof (base64) is a
// signature by pub over challenge: the token's email for email identities,
// its sub otherwise. The signature scheme is the key's default (ECDSA
// P-256 with SHA-256 for sigstore-go's default ephemeral keys).
func checkProofOfPossession(pub crypto.PublicKey, proof, challenge string) error {
	sig, err := base64.StdEncoding.DecodeString(proof)
	if err != nil {
		return fmt.Errorf("proof of possession is not base64: %v", err)
	}
	verifier, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return fmt.Errorf("unsupported public key: %v", err)
	}
	if err := verifier.VerifySignature(bytes.NewReader(sig), strings.NewReader(challenge)); err != nil {
		return errors.New("proof of possession does not verify: the public key did not sign the token's subject")
	}
	return nil
}

// issue makes a Fulcio leaf certificate for pub and the principal p,
// signed by the intermediate.
func (s *Server) issue(pub crypto.PublicKey, p *principal) (*x509.Certificate, error) {
	serial, err := cryptoutils.GenerateSerialNumber()
	if err != nil {
		return nil, err
	}
	skid, err := cryptoutils.SKID(pub)
	if err != nil {
		return nil, err
	}
	notBefore := time.Now().Add(-time.Minute)
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       notBefore,
		NotAfter:        notBefore.Add(leafLifetime),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		SubjectKeyId:    skid,
		URIs:            p.uris,
		EmailAddresses:  p.emails,
		ExtraExtensions: p.extensions,
	}
	// With an empty subject, x509 marks the SAN extension critical, as
	// RFC 5280 and Fulcio do.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.fulcioIntermediate, pub, s.fulcioKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// tokenClaims are the claims of an identity token.
type tokenClaims map[string]any

// parseToken decodes the claims of a JWT without checking its signature.
func parseToken(token string) (tokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT (header.payload.signature)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("payload is not base64url: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var c tokenClaims
	if err := dec.Decode(&c); err != nil || c == nil {
		return nil, errors.New("payload is not a JSON object")
	}
	return c, nil
}

// str returns a string claim, or "".
func (c tokenClaims) str(name string) string {
	v, _ := c[name].(string)
	return v
}

// audiences returns the aud claim, a string or a list of strings.
func (c tokenClaims) audiences() []string {
	switch v := c["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var auds []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				auds = append(auds, s)
			}
		}
		return auds
	}
	return nil
}

// unixTime returns a NumericDate claim.
func (c tokenClaims) unixTime(name string) (time.Time, bool) {
	n, ok := c[name].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// verifiedEmail reports whether email_verified is true (some providers
// send the string "true").
func (c tokenClaims) verifiedEmail() bool {
	switch v := c["email_verified"].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// principal is the identity a token proves, and what goes into its
// certificate.
type principal struct {
	challenge  string // what the proof of possession must sign
	uris       []*url.URL
	emails     []string
	extensions []pkix.Extension
}

// principalFromClaims checks a token's claims as Fulcio would for a GitHub
// Actions issuer or an email issuer, and returns the identity they prove.
func principalFromClaims(c tokenClaims, now time.Time) (*principal, error) {
	iss := c.str("iss")
	if iss == "" {
		return nil, errors.New("no iss claim")
	}
	if auds := c.audiences(); !slices.Contains(auds, Audience) {
		return nil, fmt.Errorf("audience %q does not include %q", auds, Audience)
	}
	exp, ok := c.unixTime("exp")
	if !ok {
		return nil, errors.New("no exp claim")
	}
	if !now.Before(exp) {
		return nil, fmt.Errorf("token expired at %s", exp.UTC().Format(time.RFC3339))
	}

	p := &principal{}
	issuerV2, err := derString(iss)
	if err != nil {
		return nil, err
	}
	p.extensions = []pkix.Extension{
		{Id: certificate.OIDIssuer, Value: []byte(iss)}, // deprecated raw form
		{Id: certificate.OIDIssuerV2, Value: issuerV2},
	}

	if iss == GitHubIssuer {
		sub, jobWorkflowRef := c.str("sub"), c.str("job_workflow_ref")
		if sub == "" || jobWorkflowRef == "" {
			return nil, errors.New("GitHub Actions token needs sub and job_workflow_ref claims")
		}
		san, err := url.Parse("https://github.com/" + jobWorkflowRef)
		if err != nil {
			return nil, fmt.Errorf("job_workflow_ref: %v", err)
		}
		exts, err := gitHubExtensions(c)
		if err != nil {
			return nil, err
		}
		p.challenge = sub
		p.uris = []*url.URL{san}
		p.extensions = append(p.extensions, exts...)
		return p, nil
	}

	email := c.str("email")
	if email == "" {
		return nil, fmt.Errorf("token from %s has no email claim", iss)
	}
	if !c.verifiedEmail() {
		return nil, fmt.Errorf("email %s is not verified (email_verified)", email)
	}
	p.challenge = email
	p.emails = []string{email}
	return p, nil
}

// gitHubExtensions returns the Fulcio certificate extensions a GitHub
// Actions token's claims fill in; claims the token lacks are left out.
func gitHubExtensions(c tokenClaims) ([]pkix.Extension, error) {
	const gh = "https://github.com/"
	gitHubURL := func(claim string) string {
		if v := c.str(claim); v != "" {
			return gh + v
		}
		return ""
	}
	var exts []pkix.Extension
	// Deprecated extensions hold the claim's raw bytes.
	for _, e := range []struct {
		oid   asn1.ObjectIdentifier
		claim string
	}{
		{certificate.OIDGitHubWorkflowTrigger, "event_name"},
		{certificate.OIDGitHubWorkflowSHA, "sha"},
		{certificate.OIDGitHubWorkflowName, "workflow"},
		{certificate.OIDGitHubWorkflowRepository, "repository"},
		{certificate.OIDGitHubWorkflowRef, "ref"},
	} {
		if v := c.str(e.claim); v != "" {
			exts = append(exts, pkix.Extension{Id: e.oid, Value: []byte(v)})
		}
	}
	// Current extensions hold DER UTF8Strings.
	for _, e := range []struct {
		oid   asn1.ObjectIdentifier
		value string
	}{
		{certificate.OIDBuildSignerURI, gitHubURL("job_workflow_ref")},
		{certificate.OIDBuildSignerDigest, c.str("job_workflow_sha")},
		{certificate.OIDRunnerEnvironment, c.str("runner_environment")},
		{certificate.OIDSourceRepositoryURI, gitHubURL("repository")},
		{certificate.OIDSourceRepositoryDigest, c.str("sha")},
		{certificate.OIDSourceRepositoryRef, c.str("ref")},
		{certificate.OIDSourceRepositoryIdentifier, c.str("repository_id")},
		{certificate.OIDSourceRepositoryOwnerURI, gitHubURL("repository_owner")},
		{certificate.OIDSourceRepositoryOwnerIdentifier, c.str("repository_owner_id")},
		{certificate.OIDBuildConfigURI, gitHubURL("workflow_ref")},
		{certificate.OIDBuildConfigDigest, c.str("workflow_sha")},
		{certificate.OIDBuildTrigger, c.str("event_name")},
		{certificate.OIDSourceRepositoryVisibilityAtSigning, c.str("repository_visibility")},
	} {
		if e.value == "" {
			continue
		}
		der, err := derString(e.value)
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: e.oid, Value: der})
	}
	return exts, nil
}

// derString DER-encodes s as an ASN.1 UTF8String.
func derString(s string) ([]byte, error) {
	der, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		return nil, fmt.Errorf("encoding %q: %v", s, err)
	}
	return der, nil
}
