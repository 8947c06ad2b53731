package sign

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/conclave-dev/conclave/internal/manifest"
)

// The public Sigstore deployment, used by keyless signing unless a
// private one is named.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicRekorURL  = "https://rekor.sigstore.dev"
	PublicTSAURL    = "https://timestamp.sigstore.dev/api/v1/timestamp"
)

// Signer makes the bundle for a manifest: [Key] or [Keyless].
type Signer interface {
	bundle(ctx context.Context, manifest []byte) (*protobundle.Bundle, error)
	// policy verifies the bundle the signer made, or is nil when the
	// signer cannot check its own work (keyless without a trusted root).
	policy() *Policy
}

// Key signs with an ECDSA P-256 key in cosign's format. Nothing is sent
// anywhere: the bundle holds the signature and the key's hint, and is
// verified with the public key (cosign: --insecure-ignore-tlog).
type Key struct{ Private *ecdsa.PrivateKey }

func (k Key) bundle(ctx context.Context, m []byte) (*protobundle.Bundle, error) {
	return sgsign.Bundle(&sgsign.PlainData{Data: m}, keypair{k.Private}, sgsign.BundleOptions{Context: ctx})
}

func (k Key) policy() *Policy { return &Policy{Key: &k.Private.PublicKey} }

// Keyless signs with a short-lived key whose certificate Fulcio issues
// for the CI's OIDC identity token; the signature is logged in Rekor and
// timestamped by a timestamp authority. Empty URLs mean the public
// Sigstore deployment.
type Keyless struct {
	Token     string // OIDC identity token, audience "sigstore"
	FulcioURL string
	RekorURL  string
	TSAURL    string
	// TrustedRoot, when set, verifies the new bundle before it is
	// written: the trusted root of the deployment signed with.
	TrustedRoot root.TrustedMaterial
	// Transport carries the requests to Fulcio and the timestamp
	// authority (nil: the default).
	Transport http.RoundTripper
	Timeout   time.Duration // per request; 0 means 30 s
}

func (k Keyless) bundle(ctx context.Context, m []byte) (*protobundle.Bundle, error) {
	if strings.TrimSpace(k.Token) == "" {
		return nil, errors.New("keyless signing needs an OIDC identity token")
	}
	kp, err := sgsign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	orDefault := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	opts := sgsign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: orDefault(k.FulcioURL, PublicFulcioURL), Timeout: k.Timeout, Retries: 2, Transport: k.Transport}),
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: strings.TrimSpace(k.Token)},
		TimestampAuthorities:       []*sgsign.TimestampAuthority{sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: orDefault(k.TSAURL, PublicTSAURL), Timeout: k.Timeout, Retries: 2, Transport: k.Transport})},
		TransparencyLogs:           []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: orDefault(k.RekorURL, PublicRekorURL), Timeout: k.Timeout, Retries: 2})},
	}
	b, err := sgsign.Bundle(&sgsign.PlainData{Data: m}, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("keyless signing: %w", err)
	}
	return b, nil
}

func (k Keyless) policy() *Policy {
	if k.TrustedRoot == nil {
		return nil
	}
	// The identity is whatever Fulcio certified; the check is that the
	// deployment's chain, log entry and timestamp verify.
	return &Policy{TrustedRoot: k.TrustedRoot, IdentityRegexp: ".*", IssuerRegexp: ".*"}
}

// Result says what [Site] signed.
type Result struct {
	Bundle   string // path of the bundle written
	Files    int    // files the manifest lists
	Signer   string // the key's fingerprint or the certificate's identity
	Verified bool   // the new bundle was verified before it was written
}

// Site signs the manifest of the built site at dir and writes its bundle
// next to it, replacing an older one. It first checks the site against its
// manifest: a site changed since it was built is not signed.
func Site(ctx context.Context, dir string, s Signer) (*Result, error) {
	m, entries, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	// With the readers' limits: a site that verify and open would refuse
	// (a packet past their size) is not signed either.
	problems, err := manifest.CheckWith(dir, entries, manifest.CheckOptions{SizeLimit: manifest.SizeLimit})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		l := problemList(dir, problems)
		return nil, append(l, fmt.Errorf("%s changed since it was built: not signed (build it again)", dir))
	}
	data, err := Bundle(ctx, s, m)
	if err != nil {
		return nil, err
	}
	res := &Result{Bundle: filepath.Join(dir, manifest.BundleName), Files: len(entries)}
	if p := s.policy(); p != nil {
		sig, err := p.Verify(data, m)
		if err != nil {
			return nil, fmt.Errorf("the new bundle does not verify, not written: %w", err)
		}
		res.Signer, res.Verified = sig.Signer, true
	} else if sb, err := parseBundle(data); err == nil {
		res.Signer = describe(sb)
	}
	if err := writeAtomic(res.Bundle, append(data, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

// Bundle returns the bundle, as JSON, that s makes for the manifest m,
// whatever m lists: [Site] checks the site first. Tests of readers sign
// forged manifests with it, as a publisher holding the key could.
func Bundle(ctx context.Context, s Signer, m []byte) ([]byte, error) {
	b, err := s.bundle(ctx, m)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}

// readManifest reads and parses the manifest of the site at dir.
func readManifest(dir string) ([]byte, []manifest.Entry, error) {
	p := filepath.Join(dir, manifest.Name)
	m, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: no %s: is %s a site built by conclave build?", dir, manifest.Name, dir)
	}
	if err != nil {
		return nil, nil, err
	}
	entries, err := manifest.Parse(p, m)
	if err != nil {
		return nil, nil, err
	}
	return m, entries, nil
}

// writeAtomic writes data to a new file next to name and renames it into
// place, so that a reader never sees half a bundle.
func writeAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// describe names who signed a bundle, without checking it.
func describe(b *sgbundle.Bundle) string {
	vc, err := b.VerificationContent()
	if err != nil {
		return ""
	}
	if c := vc.Certificate(); c != nil {
		return certIdentity(c)
	}
	return ""
}
