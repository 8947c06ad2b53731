package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// tokenLifetime is how long the tokens GitHubToken and EmailToken make stay
// unexpired.
const tokenLifetime = time.Hour

// GitHubToken returns an OIDC identity token as GitHub Actions would issue
// for a workflow run: iss "https://token.actions.githubusercontent.com",
// aud "sigstore", sub "repo:OWNER/REPO:ref:REF", job_workflow_ref
// "OWNER/REPO/.github/workflows/FILE@REF". The fake Fulcio issues a
// certificate whose SAN URI is "https://github.com/" + job_workflow_ref and
// whose issuer extensions name the token's iss.
//
// repo is "OWNER/REPO", workflowFile a file name such as "release.yml" (a
// leading ".github/workflows/" is dropped), ref a full Git ref such as
// "refs/tags/v1.0.0". The token also carries the repository, ref,
// workflow and event claims from which Fulcio fills in the GitHub
// certificate extensions (source repository, build signer and build
// config URIs, trigger "push", runner environment "github-hosted").
func (s *Server) GitHubToken(repo, workflowFile, ref string) string {
	workflowFile = strings.TrimPrefix(workflowFile, ".github/workflows/")
	owner, _, _ := strings.Cut(repo, "/")
	workflowRef := repo + "/.github/workflows/" + workflowFile + "@" + ref
	claims := baseClaims(GitHubIssuer, "repo:"+repo+":ref:"+ref)
	claims["repository"] = repo
	claims["repository_owner"] = owner
	claims["ref"] = ref
	claims["workflow_ref"] = workflowRef
	claims["job_workflow_ref"] = workflowRef
	claims["event_name"] = "push"
	claims["runner_environment"] = "github-hosted"
	return s.Token(claims)
}

// EmailToken returns a token for an email identity (iss given, claim
// email + email_verified true); the certificate's SAN is the email.
//
// Its sub is an opaque ID derived from the email, as providers such as
// Google issue; Fulcio's proof of possession covers the email, not sub.
func (s *Server) EmailToken(issuer, email string) string {
	sum := sha256.Sum256([]byte(email))
	claims := baseClaims(issuer, hex.EncodeToString(sum[:8]))
	claims["email"] = email
	claims["email_verified"] = true
	return s.Token(claims)
}

// Token returns a JWT carrying exactly the given claims, for tests that
// need a token the other helpers do not make (another audience, an expired
// one, a missing claim). It is signed with ES256 by a key of this server's,
// but the fake Fulcio does not check the signature. Fulcio requires iss,
// aud "sigstore", an exp in the future, and either (iss GitHubIssuer) sub
// and job_workflow_ref or (any other iss) email with email_verified true.
// Token panics if the claims cannot be marshaled to JSON.
func (s *Server) Token(claims map[string]any) string {
	header := map[string]string{"alg": "ES256", "typ": "JWT", "kid": "sigstoretest"}
	h, err := json.Marshal(header)
	if err != nil {
		panic(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("sigstoretest: token claims: %v", err))
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signingInput := b64(h) + "." + b64(p)
	digest := sha256.Sum256([]byte(signingInput))
	r, sig, err := ecdsa.Sign(rand.Reader, s.tokenKey, digest[:])
	if err != nil {
		panic(err)
	}
	// JWS ES256 signatures are r || s, each 32 bytes big-endian.
	rs := make([]byte, 64)
	r.FillBytes(rs[:32])
	sig.FillBytes(rs[32:])
	return signingInput + "." + b64(rs)
}

// baseClaims returns the claims every token has: issuer, subject, audience
// "sigstore", issue and expiry times and a unique ID.
func baseClaims(issuer, subject string) map[string]any {
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	return map[string]any{
		"iss": issuer,
		"sub": subject,
		"aud": Audience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(tokenLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	}
}
