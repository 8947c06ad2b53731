package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/sign"
)

func signCmd() *cobra.Command {
	var (
		keyFile, tokenFile, trustedRoot string
		keyless                         bool
		urls                            sign.Keyless
	)
	cmd := &cobra.Command{
		Use:   "sign [--key FILE | --keyless] [SITE]",
		Short: "Sign a built site's SHA256SUMS with Sigstore",
		Long: `Sign writes SITE/SHA256SUMS.sigstore.json (SITE is public unless given), a
Sigstore bundle that signs the site's manifest, SHA256SUMS, and through it
every file of the site. It first checks the site against SHA256SUMS: a site
changed since it was built is not signed.

With --key FILE it signs with a key in cosign's format (conclave keys
signing, or cosign generate-key-pair); the password comes from
CONCLAVE_PASSWORD (or COSIGN_PASSWORD) or the terminal. Nothing is sent
anywhere. Readers check it with the public key:

  conclave verify --key site.pub SITE
  cosign verify-blob --key site.pub --bundle SITE/SHA256SUMS.sigstore.json \
      --insecure-ignore-tlog SITE/SHA256SUMS

With --keyless, in CI, it signs with a one-time key whose certificate
Fulcio issues for the CI's OIDC identity (on GitHub Actions, the workflow;
the job needs "permissions: id-token: write"), records the signature in
the Rekor transparency log and gets a signed timestamp. The token comes
from --identity-token FILE, SIGSTORE_ID_TOKEN, or GitHub Actions. The
public Sigstore deployment is used unless --fulcio-url, --rekor-url and
--timestamp-url name a private one (then --trusted-root lets sign check
the bundle it made).`,
		Example: `  conclave sign --key ~/secrets/site.key
  conclave sign --keyless public
  conclave sign --keyless --identity-token /var/run/sigstore/token \
      --fulcio-url https://fulcio.example.org --rekor-url https://rekor.example.org \
      --timestamp-url https://tsa.example.org/api/v1/timestamp --trusted-root trusted_root.json`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "public"
			if len(args) == 1 {
				dir = args[0]
			}
			if (keyFile == "") == !keyless {
				return usageError{errors.New("give either --key FILE (a signing key) or --keyless (in CI)")}
			}
			urlsGiven := urls.FulcioURL != "" || urls.RekorURL != "" || urls.TSAURL != ""
			if keyFile != "" && (tokenFile != "" || urlsGiven || trustedRoot != "") {
				return usageError{errors.New("--identity-token, --trusted-root and the service URLs are for --keyless")}
			}
			var signer sign.Signer
			if keyFile != "" {
				data, err := os.ReadFile(keyFile)
				if err != nil {
					return err
				}
				key, err := sign.LoadPrivateKey(keyFile, data, keyPassword(keyFile))
				if err != nil {
					return err
				}
				signer = sign.Key{Private: key}
			} else {
				token, err := sign.IDToken(cmd.Context(), sign.TokenSource{File: tokenFile})
				if err != nil {
					return err
				}
				k := urls
				k.Token = token
				if trustedRoot != "" || !urlsGiven {
					k.TrustedRoot, err = sign.TrustedRoot(trustedRoot)
					if err != nil {
						return err
					}
				}
				signer = k
			}
			res, err := sign.Site(cmd.Context(), dir, signer)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "conclave: signed %s: %d files listed in SHA256SUMS\n", dir, res.Files)
			if res.Signer != "" {
				fmt.Fprintf(w, "  signer  %s\n", res.Signer)
			}
			fmt.Fprintf(w, "  bundle  %s\n", res.Bundle)
			if !res.Verified {
				fmt.Fprintln(cmd.ErrOrStderr(), "conclave: warning: the new bundle was not checked: give --trusted-root with the deployment's trusted root to check it")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyFile, "key", "", "private key in cosign's format")
	f.BoolVar(&keyless, "keyless", false, "sign with a Fulcio certificate for the CI's OIDC identity")
	f.StringVar(&tokenFile, "identity-token", "", "file holding the OIDC identity token (default: SIGSTORE_ID_TOKEN, or GitHub Actions)")
	f.StringVar(&urls.FulcioURL, "fulcio-url", "", "Fulcio certificate authority (default "+sign.PublicFulcioURL+")")
	f.StringVar(&urls.RekorURL, "rekor-url", "", "Rekor transparency log (default "+sign.PublicRekorURL+")")
	f.StringVar(&urls.TSAURL, "timestamp-url", "", "RFC 3161 timestamp authority (default "+sign.PublicTSAURL+")")
	f.StringVar(&trustedRoot, "trusted-root", "", "trusted root of a private deployment, to check the new bundle")
	return cmd
}
