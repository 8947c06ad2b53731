package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
)

// verifyFlags say whose signature a site must carry; verify and open
// share them.
type verifyFlags struct {
	key, identity, identityRegexp, issuer, issuerRegexp, trustedRoot string
}

func (v *verifyFlags) add(f *pflag.FlagSet) {
	f.StringVar(&v.key, "key", "", "public key the site was signed with (cosign's .pub format)")
	f.StringVar(&v.identity, "certificate-identity", "", "keyless: the signer's identity, e.g. https://github.com/ORG/REPO/.github/workflows/publish.yml@refs/heads/main")
	f.StringVar(&v.identityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the signer's whole identity must match")
	f.StringVar(&v.issuer, "certificate-oidc-issuer", "", "keyless: the identity's OIDC issuer, e.g. https://token.actions.githubusercontent.com")
	f.StringVar(&v.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the whole OIDC issuer must match")
	f.StringVar(&v.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root file, for offline checks or a private deployment (default: the public deployment's, fetched)")
}

func (v *verifyFlags) given() bool {
	return v.key != "" || v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != "" || v.trustedRoot != ""
}

// policy turns the flags into a policy, reading the key or trusted root.
func (v *verifyFlags) policy() (sign.Policy, error) {
	p := sign.Policy{Identity: v.identity, IdentityRegexp: v.identityRegexp, Issuer: v.issuer, IssuerRegexp: v.issuerRegexp}
	if v.key != "" {
		if v.trustedRoot != "" {
			return p, usageError{errors.New("--trusted-root is for keyless signatures, not --key")}
		}
		data, err := os.ReadFile(v.key)
		if err != nil {
			return p, err
		}
		if p.Key, err = sign.LoadPublicKey(v.key, data); err != nil {
			return p, err
		}
	}
	if err := p.Check(); err != nil {
		return p, usageError{err}
	}
	if p.Key == nil {
		// Read (or fetched) only when a keyless bundle needs it.
		p.LoadTrustedRoot = sign.TrustedRootLoader(v.trustedRoot)
	}
	return p, nil
}

func verifyCmd() *cobra.Command {
	var flags verifyFlags
	cmd := &cobra.Command{
		Use:   "verify [--key FILE | --certificate-identity ID --certificate-oidc-issuer URL] [SITE]",
		Short: "Check a site's signature and that its files are exactly those it lists",
		Long: `Verify checks a signed site (SITE is public unless given): its bundle,
SHA256SUMS.sigstore.json, must verify over SHA256SUMS for the expected
signer, and the folder must hold exactly the files SHA256SUMS lists, each
with its digest. A changed, missing or unlisted file or folder, a symbolic
link, or an unsafe path fails it; problems are reported by path, the first
1,000 in order of path, then how many more there were.

A copy of a site may come from anywhere, and SHA256SUMS and its bundle are
read before their signature is checked: both must be regular files (a
symbolic link, named pipe or device is refused, never followed or waited
on) of at most 128 MiB (1,000,000 files) and 1 MiB. A packet larger than
5 GiB (an attachment's; a passage's packet is read whole within 64 MiB) or a
keyring larger than 16 MiB, which conclave open would refuse, fails
verification without being read.

The signer is a key (--key, the public key) or, for keyless signatures, a
certificate identity and its OIDC issuer, exact or as regular expressions.
Regular expressions must match the whole value (unlike cosign's, they are
anchored). Keyless signatures are checked against the public Sigstore deployment's
trusted root, fetched and cached, or the one --trusted-root names (offline
checks, private deployments).

It shows the time the release is dated in its release.json, which
conclave build writes and SHA256SUMS lists (a site built before releases
were dated has none); conclave pull refuses a release older than one it
already holds.

It does what these do, and more:

  cosign verify-blob --key site.pub --bundle SITE/SHA256SUMS.sigstore.json \
      --insecure-ignore-tlog SITE/SHA256SUMS
  (cd SITE && sha256sum -c SHA256SUMS)`,
		Example: `  conclave verify --key site.pub public
  conclave verify ./briefings \
      --certificate-identity https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "public"
			if len(args) == 1 {
				dir = args[0]
			}
			p, err := flags.policy()
			if err != nil {
				return err
			}
			rep, err := sign.VerifySite(dir, p)
			if err != nil {
				return verifyError(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "conclave: verified %s: %d files match SHA256SUMS, nothing else is there\n", dir, len(rep.Entries))
			fmt.Fprintf(w, "  signer  %s\n", rep.Signature.Signer)
			if !rep.Signature.Time.IsZero() {
				fmt.Fprintf(w, "  signed  %s (timestamp verified)\n", rep.Signature.Time.UTC().Format(time.RFC3339))
			}
			switch r, err := readRelease(dir, rep.Entries); {
			case errors.Is(err, errUndated): // built before releases were dated
			case err != nil:
				fmt.Fprintf(cmd.ErrOrStderr(), "conclave: warning: %v: conclave pull refuses this release\n", err)
			default:
				fmt.Fprintf(w, "  release %s (%s)\n", r.Time.Format(time.RFC3339), format.ReleaseFile)
			}
			return nil
		},
	}
	flags.add(cmd.Flags())
	return cmd
}

// errUndated is readRelease's error for a site without release.json.
var errUndated = errors.New("no " + format.ReleaseFile)

// readRelease reads the release.json of the verified site in dir, if its
// manifest, entries, lists one.
func readRelease(dir string, entries []manifest.Entry) (format.Release, error) {
	if !slices.ContainsFunc(entries, func(e manifest.Entry) bool { return e.Path == format.ReleaseFile }) {
		return format.Release{}, errUndated
	}
	name := filepath.Join(dir, format.ReleaseFile)
	data, _, err := manifest.ReadFile(os.DirFS(dir), format.ReleaseFile, manifest.Limit{Bytes: format.MaxReleaseSize, What: "a " + format.ReleaseFile})
	if err != nil {
		return format.Release{}, fmt.Errorf("%s: %w", name, err)
	}
	r, err := format.ParseRelease(data)
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// verifyFailed is a failed verification: its problems, then a count.
// A hostile copy can hold millions of problems: at most
// manifest.MaxProblems are listed, then one line counting the others
// (sign.MoreProblems); total counts them all.
type verifyFailed struct{ diag.List }

// total is how many problems the verification found, listed or not.
func (v verifyFailed) total() int { return sign.ProblemCount(v.List) }

// verifyError marks the problems a verification found as a failed
// verification; other errors (an unreadable folder, a missing bundle) pass
// as they are.
func verifyError(err error) error {
	var l diag.List
	if errors.As(err, &l) {
		return verifyFailed{l}
	}
	return err
}

func (v verifyFailed) Error() string { return v.List.Error() }
func (v verifyFailed) Unwrap() error { return v.List }
