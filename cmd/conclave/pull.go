package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/progress"
	"github.com/conclave-dev/conclave/internal/pull"
)

// maxChangesShown is how many changed files pull lists; --json lists all.
const maxChangesShown = 100

func pullCmd() *cobra.Command {
	var (
		identities []string
		guest      bool
		asJSON     bool
		vf         verifyFlags
	)
	cmd := &cobra.Command{
		Use:   "pull URL [DIR] [-i IDENTITY | --passphrase] [--key FILE | --certificate-identity ID --certificate-oidc-issuer URL]",
		Short: "Keep a verified local copy of a published site, and a readable copy for you",
		Long: `Pull keeps a verified mirror of the site published at URL in DIR (default:
the last element of URL's path, or its host), and a readable copy of it for
your identities, and says what is new for you since the last pull.

  DIR/site/            the mirror: the files SHA256SUMS lists, SHA256SUMS
                       and its bundle (conclave verify DIR/site passes)
  DIR/readable/        what conclave open writes for your identities: it
                       holds restricted text, keep it on this machine
  DIR/.conclave-pull/  the signer, remembered; files of a pull not finished

It fetches SHA256SUMS and its bundle and checks the signature for the
signer named with the flags of conclave verify (--key, or
--certificate-identity and --certificate-oidc-issuer). The first pull
remembers the signer: later pulls need no flags, and refuse a site signed
by anyone else, or flags naming anyone else. It then downloads only the
files whose digest the mirror does not hold, checks every byte against
SHA256SUMS, and swaps the new mirror in as a whole: when anything fails
to download or check, the previous mirror and readable copy are exactly as
they were (when only the readable copy cannot be written, the mirror is
updated and the copy left as it was). Files already downloaded and checked
by a pull that was interrupted or failed are not downloaded again. Without
-i or --passphrase only the mirror is updated.

It never goes back in time. Each release is dated in its release.json,
which SHA256SUMS lists (so the signature covers it), and DIR remembers the
date of the release it holds: a release older than that one is refused, as
is one without release.json once a release was dated (a server replaying
an old signed release would hide what was published since), and one dated
more than 24 hours ahead of this machine's clock. release.json is checked
before anything else is downloaded. A release of the same time is
accepted. If the publisher says an older release is intended, pull it into
a new folder. A site built before releases were dated has no release.json:
it is pulled as before.

URL must be https (plain http only to this machine: 127.0.0.1, ::1,
localhost). Each file is bounded (SHA256SUMS 128 MiB, its bundle 1 MiB, a
packet 5 GiB (an attachment's; a passage's is read whole within 64 MiB), a keyring
16 MiB, any other file 256 MiB: a body that goes
on past its limit is cut off there), as is every wait (15 s to connect,
30 s for a response or for more of a body); a 5xx status or a network error
is tried 4 times, a 4xx status once; redirects stay on the same host.

What changed is told for you: the files of your readable copy that are new,
changed or removed since the last pull, a page compared as you see it (a
passage sealed for someone else is not a change for you), with the number
of passages you can read that are new or changed on it. --json prints the
report as JSON:

  {"version": 1, "site": URL, "mirror": "DIR/site", "readable": "DIR/readable",
   "signer": "key SHA256:…", "signed": time (keyless only),
   "release": time (from release.json, if the site has one), "first": bool,
   "files": N, "fetched": N, "reused": N, "resumed": N,
   "requests": N, "bytes": N,
   "new": [{"path": P, "passages": N}, …], "changed": […], "removed": […],
   "opened": {"passages": N, "notForYou": N, "failed": N, "pages": N,
              "attachments": N, "again": N, "keyrings": N, "keyringsOpened": N}}

files is what SHA256SUMS lists; each was fetched, reused (from the previous
mirror) or resumed (from an interrupted pull). requests and bytes count
every request and body byte, SHA256SUMS and its bundle included. Without
identities there is no "readable" or "opened", and new, changed and removed
compare the site's files outside packets/ by digest.

Exit status: 0 when the mirror and the readable copy were updated; 1 when
the pull failed (nothing was changed), or when the mirror was updated but
the readable copy could not be written or is incomplete; 2 for a usage
error.`,
		Example: `  conclave pull https://briefings.example.org/ --key site.pub -i ~/.config/conclave/identities/alice.txt
  conclave pull https://briefings.example.org/ -i ~/.config/conclave/identities/alice.txt
  conclave pull https://acme.github.io/briefings/ ~/briefings -i ~/.ssh/id_ed25519 \
      --certificate-identity https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  conclave pull --json https://briefings.example.org/ -i alice.txt | jq '.new, .changed'`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := pull.SiteURL(args[0])
			if err != nil {
				return usageError{err}
			}
			opt := pull.Options{URL: args[0], Dir: pull.DefaultDir(u)}
			if len(args) == 2 {
				opt.Dir = args[1]
			}
			if opt.Signer, err = pullSigner(vf); err != nil {
				return err
			}
			if opt.Identities, err = readIdentities(cmd, identities); err != nil {
				return err
			}
			if guest {
				opt.Identities = append(opt.Identities, open.PassphraseIdentity(func() ([]byte, error) {
					return passphrase("passphrase for the site's keyrings")
				}))
			}
			// The progress line is rewritten in place: on a terminal only.
			// It bypasses safeWriter, and quotes nothing a server sent.
			if term.IsTerminal(int(os.Stderr.Fd())) {
				opt.Progress = os.Stderr
			}
			// Ctrl-C stops the pull; what it downloaded is kept.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := pull.Pull(ctx, opt)
			return pullDone(cmd, rep, err, opt.Dir, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&identities, "identity", "i", nil, "identity file: age identity or SSH private key (repeatable)")
	f.BoolVar(&guest, "passphrase", false, "ask for the passphrase you were given, and open the keyrings sealed with it")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON (see above)")
	vf.add(f)
	return cmd
}

// pullSigner is the signer the flags name, or nil for the one the first
// pull remembered.
func pullSigner(vf verifyFlags) (*pull.Signer, error) {
	if !vf.given() {
		return nil, nil
	}
	p, err := vf.policy()
	if err != nil {
		return nil, err
	}
	s := &pull.Signer{Key: p.Key, Identity: p.Identity, IdentityRegexp: p.IdentityRegexp, Issuer: p.Issuer, IssuerRegexp: p.IssuerRegexp}
	if vf.trustedRoot != "" {
		// Remembered for later pulls, which may run elsewhere.
		if s.TrustedRoot, err = filepath.Abs(vf.trustedRoot); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// pullDone prints what a pull did, and returns its error with a hint.
func pullDone(cmd *cobra.Command, rep *pull.Report, err error, dir string, asJSON bool) error {
	if rep == nil {
		return pullFailed(err, dir)
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "conclave: verified %s%s: signed by %s\n", rep.Site, manifest.Name, rep.Signer)
	var incomplete *open.IncompleteError
	if errors.As(err, &incomplete) {
		printWarnings(cmd, incomplete.Problems)
	}
	var oe *pull.OpenError
	openFailed := errors.As(err, &oe)
	if asJSON {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if _, err := cmd.OutOrStdout().Write(append(data, '\n')); err != nil {
			return err
		}
	} else {
		// What changed is known once the readable copy is written, or
		// without identities.
		printPull(cmd.OutOrStdout(), rep, !openFailed)
	}
	switch {
	case rep.Readable != "":
		fmt.Fprintln(stderr, "conclave: warning: the readable copy holds restricted text: keep it on this machine, never commit or publish it")
	case err == nil:
		fmt.Fprintln(stderr, "conclave: note: no identity given (-i or --passphrase): only the mirror was updated")
	}
	if openFailed {
		return hintError{err: err, hint: fmt.Sprintf("the mirror %s was updated; the readable copy %s was left as it was", oe.Mirror, oe.Readable)}
	}
	return err
}

// pullFailed adds a hint to the error of a pull that changed nothing.
func pullFailed(err error, dir string) error {
	var ns *pull.NoSignerError
	if errors.As(err, &ns) {
		return usageError{err}
	}
	var re *pull.ReleaseError
	if errors.As(err, &re) {
		hint := "if the site's publisher says this release is intended, pull it into a new folder"
		if re.Ahead {
			hint = "check this machine's clock; if it is right, tell the site's publisher"
		}
		if _, serr := os.Stat(filepath.Join(dir, pull.MirrorDir)); serr == nil {
			hint = fmt.Sprintf("%s and %s were left as they were; %s", filepath.Join(dir, pull.MirrorDir), filepath.Join(dir, pull.ReadableDir), hint)
		}
		return hintError{err: err, hint: hint}
	}
	var se *pull.SignerError
	if errors.As(err, &se) {
		return hintError{err: err, hint: fmt.Sprintf("if the site's publisher really changed its signer, confirm the new one with them, then pull into a new folder naming it (or remove %s)", se.State)}
	}
	if _, serr := os.Stat(filepath.Join(dir, pull.MirrorDir)); serr == nil {
		return hintError{err: err, hint: fmt.Sprintf("%s and %s were left as they were", filepath.Join(dir, pull.MirrorDir), filepath.Join(dir, pull.ReadableDir))}
	}
	return err
}

// printPull writes the report of a pull for people, with what changed
// for the reader if changes is set.
func printPull(w io.Writer, rep *pull.Report, changes bool) {
	first := ""
	if rep.First {
		first = " (first pull)"
	}
	fmt.Fprintf(w, "conclave: pulled %s into %s: %d files%s\n", rep.Site, rep.Mirror, rep.Files, first)
	if rep.Release.IsZero() {
		fmt.Fprintf(w, "  release undated: the site has no %s (an older release could not be told apart)\n", format.ReleaseFile)
	} else {
		fmt.Fprintf(w, "  release %s\n", rep.Release.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "  fetched %6d  files downloaded: %s in %d requests\n", rep.Fetched, progress.Size(rep.Bytes), rep.Requests)
	fmt.Fprintf(w, "  reused  %6d  files unchanged since the last pull\n", rep.Reused)
	if rep.Resumed > 0 {
		fmt.Fprintf(w, "  resumed %6d  files downloaded by a pull that did not finish\n", rep.Resumed)
	}
	if o := rep.Opened; o != nil {
		printCopy(w, &open.Report{Out: rep.Readable, Opened: o.Passages, Pages: o.Pages, Again: o.Again, Attachments: o.Attachments,
			NotForYou: o.NotForYou, Failed: o.Failed, Keyrings: o.Keyrings, KeyringsOpened: o.KeyringsOpened})
	}
	if rep.First || !changes {
		return
	}
	total := len(rep.New) + len(rep.Changed) + len(rep.Removed)
	if total == 0 {
		fmt.Fprintln(w, "conclave: nothing new for you since the last pull")
		return
	}
	fmt.Fprintf(w, "conclave: since the last pull: %d new, %d changed, %d removed\n", len(rep.New), len(rep.Changed), len(rep.Removed))
	shown := 0
	list := func(kind string, changes []pull.Change) {
		for _, c := range changes {
			if shown == maxChangesShown {
				return
			}
			shown++
			fmt.Fprintf(w, "  %-8s %s%s\n", kind, c.Path, passagesText(c.Passages))
		}
	}
	list("new", rep.New)
	list("changed", rep.Changed)
	list("removed", rep.Removed)
	if total > shown {
		fmt.Fprintf(w, "  and %d more (--json lists them all)\n", total-shown)
	}
}

func passagesText(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "  (1 passage for you, new or changed)"
	}
	return fmt.Sprintf("  (%d passages for you, new or changed)", n)
}
