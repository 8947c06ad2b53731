package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// maxBundle bounds the bundle file read: real bundles are a few KiB.
const maxBundle = manifest.MaxBundle

// Policy says whose signature a site must carry: the holder of Key, or a
// certificate for an identity (a workflow, an email address) from an OIDC
// issuer, chained to TrustedRoot. Exactly one of Key and the identity is
// set; the regexp forms must match the whole value (they are anchored,
// unlike cosign's: "acme" matches only "acme", never "evil/acme").
type Policy struct {
	Key *ecdsa.PublicKey

	Identity       string
	IdentityRegexp string
	Issuer         string
	IssuerRegexp   string
	// TrustedRoot holds the certificate authorities, logs and timestamp
	// authorities trusted for keyless signatures. If it is nil,
	// LoadTrustedRoot is called for it, only once a keyless bundle for the
	// expected identity needs it: a bundle signed with a key, or by another
	// identity, is refused without it (and without the network it may use).
	TrustedRoot     root.TrustedMaterial
	LoadTrustedRoot func() (root.TrustedMaterial, error)
}

// Check reports a policy that names no signer, or two kinds.
func (p Policy) Check() error {
	identity := p.Identity != "" || p.IdentityRegexp != ""
	issuer := p.Issuer != "" || p.IssuerRegexp != ""
	switch {
	case p.Key != nil && (identity || issuer):
		return errors.New("give either a key or a certificate identity, not both")
	case p.Key != nil:
		return nil
	case !identity && !issuer:
		return errors.New("no signer to check against: give the signing key's public half (--key), or the certificate identity and OIDC issuer of a keyless signature")
	case !identity:
		return errors.New("a certificate OIDC issuer needs a certificate identity (--certificate-identity or --certificate-identity-regexp)")
	case !issuer:
		return errors.New("a certificate identity needs its OIDC issuer (--certificate-oidc-issuer or --certificate-oidc-issuer-regexp)")
	case p.Identity != "" && p.IdentityRegexp != "", p.Issuer != "" && p.IssuerRegexp != "":
		return errors.New("give an identity or issuer either exactly or as a regular expression, not both")
	}
	return nil
}

// Signature says who signed a manifest, and when if a timestamp says so.
type Signature struct {
	Signer string    // "key SHA256:…" or "IDENTITY (issuer ISSUER)"
	Time   time.Time // zero without a verified timestamp
}

// Problems with a bundle. They name the manifest's files as a site holds
// them.
var (
	ErrNotSigned       = errors.New("not signed")
	ErrManifestChanged = errors.New("does not match the digest its signature covers: edited after signing, or the bundle belongs to another release")
)

// Verify checks the bundle bundleJSON over the manifest m against the
// policy.
func (p Policy) Verify(bundleJSON, m []byte) (*Signature, error) {
	return p.VerifyDigest(bundleJSON, sha256.Sum256(m))
}

// VerifyDigest checks the bundle bundleJSON over a manifest whose SHA-256
// digest is sum, against the policy: the manifest itself is not needed.
func (p Policy) VerifyDigest(bundleJSON []byte, sum [sha256.Size]byte) (*Signature, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	b, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		return nil, errors.New("the bundle holds no message signature (a DSSE attestation is not a signature of " + manifest.Name + ")")
	}
	if d := ms.GetMessageDigest(); d == nil || d.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 {
		return nil, errors.New("the bundle's signature is not over a SHA-256 digest")
	}
	if !bytes.Equal(ms.GetMessageDigest().GetDigest(), sum[:]) {
		return nil, ErrManifestChanged
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, fmt.Errorf("the bundle's verification material: %v", err)
	}
	cert := vc.Certificate()
	// The signature is over the digest checked above.
	artifact := verify.WithArtifactDigest("sha256", sum[:])
	if p.Key != nil {
		return p.verifyKey(b, cert, artifact)
	}
	return p.verifyIdentity(b, cert, artifact)
}

func (p Policy) verifyKey(b *sgbundle.Bundle, cert *x509.Certificate, artifact verify.ArtifactPolicyOption) (*Signature, error) {
	want := Fingerprint(p.Key)
	if cert != nil {
		return nil, fmt.Errorf("signed keylessly by %s, not with the key %s: verify with --certificate-identity and --certificate-oidc-issuer", certIdentity(cert), want)
	}
	verifier, err := signature.LoadECDSAVerifier(p.Key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	trusted := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(verifier, time.Time{}, time.Time{}), nil
	})
	v, err := verify.NewVerifier(trusted, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	if _, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithKey())); err != nil {
		return nil, fmt.Errorf("the signature does not verify with the key %s: signed with another key, or damaged", want)
	}
	return &Signature{Signer: "key " + want}, nil
}

func (p Policy) verifyIdentity(b *sgbundle.Bundle, cert *x509.Certificate, artifact verify.ArtifactPolicyOption) (*Signature, error) {
	if cert == nil {
		return nil, errors.New("signed with a key, not keylessly: verify with --key and the signer's public key")
	}
	id, err := verify.NewShortCertificateIdentity(p.Issuer, anchor(p.IssuerRegexp), p.Identity, anchor(p.IdentityRegexp))
	if err != nil {
		return nil, fmt.Errorf("certificate identity: %v", err)
	}
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("the bundle's certificate: %v", err)
	}
	if err := id.Verify(summary); err != nil {
		return nil, fmt.Errorf("signed by %s, not by the expected identity %s", certIdentity(cert), p.describeIdentity())
	}
	tr := p.TrustedRoot
	if tr == nil && p.LoadTrustedRoot != nil {
		if tr, err = p.LoadTrustedRoot(); err != nil {
			return nil, err
		}
	}
	if tr == nil {
		return nil, errors.New("no trusted root to check the certificate against")
	}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if len(tr.RekorLogs()) > 0 {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(tr, opts...)
	if err != nil {
		return nil, err
	}
	res, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithCertificateIdentity(id)))
	if err != nil {
		return nil, fmt.Errorf("the keyless signature by %s does not verify against the trusted root: %v", certIdentity(cert), err)
	}
	sig := &Signature{Signer: certIdentity(cert)}
	for _, ts := range res.VerifiedTimestamps {
		if sig.Time.IsZero() || ts.Timestamp.Before(sig.Time) {
			sig.Time = ts.Timestamp
		}
	}
	return sig, nil
}

// anchor makes a regular expression match whole values only.
func anchor(re string) string {
	if re == "" {
		return ""
	}
	return `^(?:` + re + `)$`
}

func (p Policy) describeIdentity() string {
	id, iss := p.Identity, p.Issuer
	if id == "" {
		id = "matching " + p.IdentityRegexp
	}
	if iss == "" {
		iss = "matching " + p.IssuerRegexp
	}
	return fmt.Sprintf("%s (issuer %s)", id, iss)
}

// parseBundle reads a Sigstore bundle in its JSON form.
func parseBundle(data []byte) (*sgbundle.Bundle, error) {
	if len(data) > maxBundle {
		return nil, fmt.Errorf("not a Sigstore bundle: %d bytes, more than a bundle ever holds", len(data))
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a valid Sigstore bundle: %v", err)
	}
	return &b, nil
}

// certIdentity names the subject of a Fulcio certificate and its issuer.
func certIdentity(c *x509.Certificate) string {
	s, err := certificate.SummarizeCertificate(c)
	if err != nil {
		return "an unreadable certificate"
	}
	return fmt.Sprintf("%s (issuer %s)", s.SubjectAlternativeName, s.Extensions.Issuer)
}

// SiteReport says what [VerifySite] checked.
type SiteReport struct {
	Signature *Signature
	Entries   []manifest.Entry // the verified manifest
}

// VerifySite checks the site at dir: its bundle verifies over its
// manifest under the policy, and the folder holds exactly the files the
// manifest lists, with their digests. Problems come back as a [diag.List]
// naming each path under dir, at most [manifest.MaxProblems] of them and
// then one whose Err, a [*MoreProblems], counts the others
// ([ProblemCount]); an unsigned site is [ErrNotSigned].
func VerifySite(dir string, p Policy) (*SiteReport, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	sig, entries, err := readSigned(dir, p)
	if err != nil {
		return nil, err
	}
	// Files larger than a reader reads are refused without being hashed.
	problems, err := manifest.CheckWith(dir, entries, manifest.CheckOptions{SizeLimit: manifest.SizeLimit})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, problemList(dir, problems)
	}
	return &SiteReport{Signature: sig, Entries: entries}, nil
}

// VerifyManifest checks the bundle of the site at dir over its manifest
// and returns the manifest's entries, without looking at the other files:
// for readers that check each file they read against the entries.
func VerifyManifest(dir string, p Policy) (*SiteReport, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	sig, entries, err := readSigned(dir, p)
	if err != nil {
		return nil, err
	}
	return &SiteReport{Signature: sig, Entries: entries}, nil
}

// readSigned reads the manifest of the site at dir and its bundle, checks
// the bundle over the manifest under the policy, and only then reads and
// parses the manifest.
//
// Both files come from a copy of the site that may be hostile, and are
// read before anything is verified. Each is opened through an [os.Root] at
// dir and must be a regular file (no link is followed, and a named pipe
// neither blocks nor is read), with a limit ([manifest.MaxBundle],
// [manifest.MaxSize]) checked before the first byte is read. The bundle is
// read first (1 MiB at most); the manifest is then hashed as a stream,
// which costs no memory, and compared with the digest the bundle signs: a
// manifest that is not the signed one is refused there, whatever its size.
// Only the signed manifest is read into memory, and the digest of the bytes
// read is checked again, so that the bytes parsed are the bytes verified.
func readSigned(dir string, p Policy) (*Signature, []manifest.Entry, error) {
	at := func(name string) string { return filepath.Join(dir, name) }
	if info, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: no such folder", dir)
	} else if err != nil {
		return nil, nil, err
	} else if !info.IsDir() {
		return nil, nil, fmt.Errorf("%s is not a folder: give the folder of a built site", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	fsys := manifest.RootFS(root)
	// Both must be there before either is read.
	if _, err := root.Lstat(manifest.Name); errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: %w: no %s (is it a site built by conclave build?)", dir, ErrNotSigned, manifest.Name)
	}
	if _, err := root.Lstat(manifest.BundleName); errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: %w: no %s (sign it with conclave sign)", dir, ErrNotSigned, manifest.BundleName)
	}
	problem := func(name string, err error) error {
		return diag.List{&diag.Error{File: at(name), Msg: unwrapPath(err), Err: err}}
	}
	bundleJSON, _, err := manifest.ReadFile(fsys, manifest.BundleName, manifest.BundleLimit)
	if err != nil {
		return nil, nil, problem(manifest.BundleName, err)
	}
	sum, err := manifest.HashFile(fsys, manifest.Name, manifest.ManifestLimit)
	if err != nil {
		return nil, nil, problem(manifest.Name, err)
	}
	sig, err := p.VerifyDigest(bundleJSON, sum)
	if err != nil {
		name := manifest.BundleName
		if errors.Is(err, ErrManifestChanged) {
			name = manifest.Name
		}
		return nil, nil, problem(name, err)
	}
	entries, err := manifest.ReadEntries(fsys, manifest.Name, at(manifest.Name), manifest.ManifestLimit, sum)
	if located := (*diag.Error)(nil); err != nil && !errors.As(err, &located) {
		err = problem(manifest.Name, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return sig, entries, nil
}

// unwrapPath drops the path an *fs.PathError repeats: messages already
// name the file.
func unwrapPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// MoreProblems is the underlying error of the last problem of a check
// that found more than [manifest.MaxProblems]: only the first are
// listed, and it counts the others.
type MoreProblems struct{ N int }

func (m *MoreProblems) Error() string {
	return fmt.Sprintf("%d more problems not listed (only the first %d are)", m.N, manifest.MaxProblems)
}

// problemList turns tree problems into located errors under dir. The
// problems left out of a check, if any, are counted by a last error at dir
// whose Err is a [*MoreProblems].
func problemList(dir string, problems []manifest.Problem) diag.List {
	var l diag.List
	for _, p := range problems {
		e := &diag.Error{File: filepath.Join(dir, filepath.FromSlash(p.Path)), Msg: p.Reason}
		if p.More > 0 {
			e.Err = &MoreProblems{N: p.More}
			e.Msg = e.Err.Error()
		}
		l = append(l, e)
	}
	return l
}

// ProblemCount is how many problems a list of them from [VerifySite]
// stands for: those listed, and those a [*MoreProblems] counts.
func ProblemCount(l diag.List) int {
	n := len(l)
	for _, err := range l {
		var more *MoreProblems
		if errors.As(err, &more) {
			n += more.N - 1
		}
	}
	return n
}
