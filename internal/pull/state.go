package pull

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
)

// Signer is who must have signed a site: the holder of Key, or a
// certificate for an identity from an OIDC issuer (exact, or regular
// expressions that must match the whole value), as for conclave verify.
type Signer struct {
	Key            *ecdsa.PublicKey
	Identity       string
	IdentityRegexp string
	Issuer         string
	IssuerRegexp   string
	// TrustedRoot is the Sigstore trusted root file that keyless
	// signatures are checked against; "" means the public deployment's.
	// It is remembered too, but is not part of who the signer is: a later
	// pull may name another.
	TrustedRoot string
}

// policy is the signer as a verification policy.
func (s *Signer) policy() sign.Policy {
	p := sign.Policy{Key: s.Key, Identity: s.Identity, IdentityRegexp: s.IdentityRegexp, Issuer: s.Issuer, IssuerRegexp: s.IssuerRegexp}
	if s.Key == nil {
		p.LoadTrustedRoot = sign.TrustedRootLoader(s.TrustedRoot)
	}
	return p
}

// String names the signer in messages.
func (s *Signer) String() string {
	if s.Key != nil {
		return "key " + sign.Fingerprint(s.Key)
	}
	id, iss := s.Identity, s.Issuer
	if id == "" {
		id = "matching " + s.IdentityRegexp
	}
	if iss == "" {
		iss = "matching " + s.IssuerRegexp
	}
	return fmt.Sprintf("%s (issuer %s)", id, iss)
}

// same reports whether s and o name the same signer; the trusted roots
// they are checked against may differ.
func (s *Signer) same(o *Signer) bool {
	if (s.Key == nil) != (o.Key == nil) {
		return false
	}
	if s.Key != nil {
		return s.Key.Equal(o.Key)
	}
	return s.Identity == o.Identity && s.IdentityRegexp == o.IdentityRegexp &&
		s.Issuer == o.Issuer && s.IssuerRegexp == o.IssuerRegexp
}

// state is DIR/.conclave-pull/pull.json: what the first pull remembers.
type state struct {
	Version int         `json:"version"` // 1
	URL     string      `json:"url"`     // of the last pull
	Signer  stateSigner `json:"signer"`
	Pulled  time.Time   `json:"pulled"` // when the last pull updated the mirror
	// Release is the time of the release the last pull took, from its
	// release.json; absent if it had none. A later pull refuses an older
	// release, or an undated one once a release was dated.
	Release time.Time `json:"release,omitzero"`
}

// stateSigner is a [Signer] in pull.json: the key as a PEM public key.
type stateSigner struct {
	Key            string `json:"key,omitempty"`
	Identity       string `json:"identity,omitempty"`
	IdentityRegexp string `json:"identityRegexp,omitempty"`
	Issuer         string `json:"issuer,omitempty"`
	IssuerRegexp   string `json:"issuerRegexp,omitempty"`
	TrustedRoot    string `json:"trustedRoot,omitempty"`
}

const stateVersion = 1

// maxState bounds pull.json as it is read: a few hundred bytes.
const maxState = 1 << 20

func (s *Signer) toState() (stateSigner, error) {
	out := stateSigner{Identity: s.Identity, IdentityRegexp: s.IdentityRegexp, Issuer: s.Issuer, IssuerRegexp: s.IssuerRegexp, TrustedRoot: s.TrustedRoot}
	if s.Key != nil {
		der, err := x509.MarshalPKIXPublicKey(s.Key)
		if err != nil {
			return out, err
		}
		out.Key = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	return out, nil
}

func (s stateSigner) signer(file string) (*Signer, error) {
	out := &Signer{Identity: s.Identity, IdentityRegexp: s.IdentityRegexp, Issuer: s.Issuer, IssuerRegexp: s.IssuerRegexp, TrustedRoot: s.TrustedRoot}
	if s.Key != "" {
		key, err := sign.LoadPublicKey(file, []byte(s.Key))
		if err != nil {
			return nil, err
		}
		out.Key = key
	}
	if err := out.policy().Check(); err != nil {
		return nil, fmt.Errorf("%s: the remembered signer: %v", file, err)
	}
	return out, nil
}

// puller is one pull under way.
type puller struct {
	opt    Options
	dir    string
	url    *url.URL
	fsys   fs.FS // dir
	unlock func()
	fetch  *fetcher
	signer *Signer
	state  *state // remembered; nil before the first pull
	first  bool   // no mirror yet
	// release is the new release's time, from its release.json; zero if
	// it has none.
	release time.Time

	// The previous mirror's manifest (what it holds, not verified: every
	// file taken from it is hashed again), and the new verified one.
	oldEntries []manifest.Entry
	entries    []manifest.Entry

	report Report
	// removing is closed once the old mirror is removed ([puller.swap]).
	removing chan struct{}
}

// statePath is the path of a file of StateDir, for messages.
func (p *puller) statePath(name string) string {
	return filepath.Join(p.dir, StateDir, name)
}

// openDir checks that the folder is new, empty or a pull's, makes it and
// its state folder, takes the lock and reads what a pull remembered.
func (p *puller) openDir() error {
	entries, err := os.ReadDir(p.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(p.dir, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(entries) > 0:
		if info, err := os.Lstat(p.statePath("")); err != nil || !info.IsDir() {
			return fmt.Errorf("refusing to pull into %s: it is not empty and was not written by conclave pull (choose a new folder)", p.dir)
		}
	}
	p.fsys = os.DirFS(p.dir)
	if err := os.MkdirAll(p.statePath(""), 0o700); err != nil {
		return err
	}
	unlock, err := lock(p.statePath(lockFile))
	if err != nil {
		return err
	}
	p.unlock = unlock
	if err := p.recover(); err != nil {
		return err
	}
	return p.readState()
}

// close releases the folder, once the old mirror is removed.
func (p *puller) close() {
	if p.removing != nil {
		<-p.removing
		p.removing = nil
	}
	if p.fetch != nil {
		p.fetch.close()
	}
	if p.unlock != nil {
		p.unlock()
		p.unlock = nil
	}
}

// recover puts back a mirror that a swap left aside (the machine stopped
// between its two renames, where there is no atomic exchange), and drops
// a half-assembled one.
func (p *puller) recover() error {
	aside := p.statePath(asideDir)
	if _, err := os.Lstat(p.path(MirrorDir)); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(aside); err == nil {
			if err := os.Rename(aside, p.path(MirrorDir)); err != nil {
				return fmt.Errorf("putting back the mirror left in %s: %w", aside, err)
			}
		}
	}
	for _, name := range []string{asideDir, nextDir} {
		if err := os.RemoveAll(p.statePath(name)); err != nil {
			return err
		}
	}
	return nil
}

// readState reads pull.json, if there is one.
func (p *puller) readState() error {
	file := p.statePath(StateFile)
	data, _, err := manifest.ReadFile(p.fsys, StateDir+"/"+StateFile, manifest.Limit{Bytes: maxState, What: "a pull's " + StateFile})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%s: version %d, this conclave reads version %d", file, st.Version, stateVersion)
	}
	p.state = &st
	return nil
}

// settleSigner decides who must have signed the site: the signer given,
// which must be the one remembered if there is one, or the one
// remembered.
func (p *puller) settleSigner() error {
	file := p.statePath(StateFile)
	given := p.opt.Signer
	if given != nil {
		if err := given.policy().Check(); err != nil {
			return err
		}
	}
	if p.state == nil {
		if given == nil {
			return &NoSignerError{Dir: p.dir}
		}
		p.signer = given
		return nil
	}
	remembered, err := p.state.Signer.signer(file)
	if err != nil {
		return err
	}
	switch {
	case given == nil:
		p.signer = remembered
	case !given.same(remembered):
		return &SignerError{State: file, Remembered: remembered.String(),
			Err: fmt.Errorf("%s was first pulled from a site signed by %s, remembered in %s; the signer given now is %s: refused", p.dir, remembered, file, given)}
	default:
		p.signer = given
		if given.TrustedRoot == "" {
			p.signer.TrustedRoot = remembered.TrustedRoot
		}
	}
	return nil
}

// remember writes pull.json after the mirror was updated: the URL, the
// signer and the release's time.
func (p *puller) remember() error {
	st := state{Version: stateVersion, URL: p.url.String(), Pulled: time.Now().UTC().Truncate(time.Second), Release: p.release}
	var err error
	if st.Signer, err = p.signer.toState(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := p.statePath(StateFile + ".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.statePath(StateFile))
}

// NoSignerError is the error of a first pull that names no signer.
type NoSignerError struct{ Dir string }

func (e *NoSignerError) Error() string {
	return fmt.Sprintf("no signer to check the site against: the first pull into %s must name it, with the signing key's public half (--key) or the certificate identity and OIDC issuer of a keyless signature; later pulls remember it", e.Dir)
}

// SignerError is the error of a pull whose site, or whose signer given,
// is not the signer remembered by the first pull into the folder.
type SignerError struct {
	State      string // the file that remembers the signer
	Remembered string // the signer remembered
	Err        error
}

func (e *SignerError) Error() string { return e.Err.Error() }
func (e *SignerError) Unwrap() error { return e.Err }
