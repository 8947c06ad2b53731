package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/sign"
)

func keysSigningCmd() *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "signing [PREFIX]",
		Short: "Make a key pair for signing releases: PREFIX.key and PREFIX.pub",
		Long: `Signing makes an ECDSA P-256 key pair in cosign's format for conclave sign
--key: PREFIX.key, the private key encrypted with a password, readable by
you only, and PREFIX.pub, the public key readers verify with. PREFIX is
"site" unless given.

The password comes from CONCLAVE_PASSWORD, or is asked for twice on the
terminal. Keys made by "cosign generate-key-pair" work as well, and cosign
verifies what conclave signs.

PREFIX.key is a SECRET: keep it out of every repository, in a password
manager or your CI's secret store. Give readers PREFIX.pub over a channel
they already trust, so that a forged site cannot bring its own key.
Signing never overwrites a file, and refuses to write inside the site's
content/, keys/, themes/ or public/ folder.`,
		Example: `  conclave keys signing
  CONCLAVE_PASSWORD=... conclave keys signing ~/secrets/briefings`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := "site"
			if len(args) == 1 {
				prefix = args[0]
			}
			return keysSigning(cmd, source, prefix)
		},
	}
	cmd.Flags().StringVarP(&source, "source", "s", ".", "site folder, whose published folders the key must stay out of")
	return cmd
}

func keysSigning(cmd *cobra.Command, source, prefix string) error {
	priv, pub := prefix+".key", prefix+".pub"
	inSite, err := checkSecretPath(source, priv, "signing key", "a signing key", "give a PREFIX outside the site, e.g. ~/secrets/site")
	if err != nil {
		return err
	}
	for _, f := range []string{priv, pub} {
		if _, err := os.Lstat(f); err == nil {
			return hintError{err: fmt.Errorf("%s already exists: conclave never overwrites a key", f), hint: "give another PREFIX"}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	password, fromEnv, err := newPassword()
	if err != nil {
		return err
	}
	privPEM, pubPEM, err := sign.GenerateKey(password)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(priv), 0o700); err != nil {
		return err
	}
	if err := writeNew(priv, privPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(pub, pubPEM, 0o644); err != nil {
		os.Remove(priv)
		return err
	}
	key, err := sign.LoadPublicKey(pub, pubPEM)
	if err != nil {
		return err
	}
	w, e := cmd.OutOrStdout(), cmd.ErrOrStderr()
	fmt.Fprintf(w, "conclave: wrote the private key to %s and the public key to %s\n", priv, pub)
	fmt.Fprintf(w, "conclave: key %s\n", sign.Fingerprint(key))
	if fromEnv && len(password) == 0 {
		fmt.Fprintf(e, "conclave: warning: CONCLAVE_PASSWORD is empty: %s is not protected by a password\n", priv)
	}
	if inSite && checkSite(source) == nil {
		fmt.Fprintf(e, "conclave: warning: %s is inside the site folder: keep it out of the site's repository, or better, move it out of the site\n", priv)
	}
	fmt.Fprintf(e, "conclave: hint: %s is a SECRET: keep it in a password manager or your CI's secret store, never in a repository\n", priv)
	fmt.Fprintf(e, "conclave: hint: give readers %s over a channel they already trust; they check releases with: conclave verify --key %s SITE\n", pub, pub)
	return nil
}

// newPassword returns the password for a new key: CONCLAVE_PASSWORD if it
// is set, even empty, or one asked for twice on the terminal.
func newPassword() (pass []byte, fromEnv bool, err error) {
	if p, ok := os.LookupEnv("CONCLAVE_PASSWORD"); ok {
		return []byte(p), true, nil
	}
	first, err := passphrase("password for the new signing key")
	if err != nil {
		return nil, false, hintError{err: err, hint: "set CONCLAVE_PASSWORD to give the password without a terminal"}
	}
	again, err := passphrase("the same password again")
	if err != nil {
		return nil, false, err
	}
	if !bytes.Equal(first, again) {
		return nil, false, errors.New("the two passwords differ")
	}
	return first, false, nil
}

// keyPassword returns the password of an existing key: CONCLAVE_PASSWORD
// (or COSIGN_PASSWORD, for keys shared with cosign) if set, or one asked
// for on the terminal.
func keyPassword(file string) func() ([]byte, error) {
	return func() ([]byte, error) {
		for _, v := range []string{"CONCLAVE_PASSWORD", "COSIGN_PASSWORD"} {
			if p, ok := os.LookupEnv(v); ok {
				return []byte(p), nil
			}
		}
		p, err := passphrase("password for " + file)
		if err != nil {
			return nil, hintError{err: err, hint: "set CONCLAVE_PASSWORD to give the password without a terminal"}
		}
		return p, nil
	}
}
