package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/conclave-dev/conclave/internal/deploy"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/progress"
	"github.com/conclave-dev/conclave/internal/sign"
	"github.com/conclave-dev/conclave/internal/site"
)

func deployCmd() *cobra.Command {
	var (
		source, out string
		opt         = deploy.Options{MaxDeletes: deploy.DefaultMaxDeletes, Jobs: deploy.DefaultJobs}
		vf          verifyFlags
	)
	cmd := &cobra.Command{
		Use:   "deploy [TARGET] [--dry-run] [--max-deletes N] [--key FILE | --certificate-identity ID --certificate-oidc-issuer URL]",
		Short: "Publish a verified, signed site to a bucket (S3, Google Cloud Storage, Azure) or a folder",
		Long: `Deploy publishes the built site (SOURCE/public, or --out) to TARGET, one of
the [[deploy.targets]] of conclave.toml (it may be left out when there is
only one):

  [[deploy.targets]]
  name = "prod"
  url = "s3://briefings-example-org?region=eu-west-1"
  key = "keys/signing.pub"        # the signer: a public key, or
  # identity = "https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main"
  # issuer = "https://token.actions.githubusercontent.com"

The url is a bucket's: s3://BUCKET, gs://BUCKET, azblob://CONTAINER or
file:///FOLDER, with the parameters of gocloud.dev/blob (region, endpoint,
use_path_style, prefix=FOLDER/ …). Credentials never go in conclave.toml
(a url that holds any is refused): each cloud's SDK reads them from the
environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE;
GOOGLE_APPLICATION_CREDENTIALS; AZURE_STORAGE_ACCOUNT and
AZURE_STORAGE_KEY …).

Only a site that verifies is published: its bundle must sign its
SHA256SUMS for the signer the flags name (those of conclave verify) or,
without flags, the target's key or identity and issuer, and the folder
must hold exactly the files SHA256SUMS lists. An unsigned site is refused,
unless the target has unsigned = true (a preview bucket) and
--allow-unsigned is given; its files are still checked against its
SHA256SUMS, and the bucket's old bundle is deleted. A site whose release
(release.json) is older than the bucket's is refused, since it would roll
readers back (an embargo lifted in the newer one sealed again), unless
--allow-older is given.

Deploy compares the site with the bucket's SHA256SUMS (the release it
holds) and its listing, and uploads only the files that are new or
changed, a few at a time, each retried on a network or server error:
packets and keyrings first, pages after them, and SHA256SUMS and its
bundle last. Then it deletes the objects the site does not list; if there
are more than --max-deletes, nothing is uploaded or deleted. Every object
gets its Content-Type, a Cache-Control (a year and immutable for packets
and keyrings, whose names are their digest; 5 minutes for other files;
no-cache for SHA256SUMS and its bundle) and its SHA-256 digest in its
"sha256" metadata. A deploy that was interrupted, run again, does not
upload again what it uploaded. ETags are never trusted.

Until the first page or asset whose path stays is overwritten, which is
done last, a failed deploy leaves the bucket's release as it was, and it
verifies; after that it fails to verify (readers that verify refuse it)
until a deploy finishes.

A file:// target keeps each object's metadata in a FILE.attrs next to it;
with metadata=skip in its url it holds the site's files only, and an
interrupted deploy uploads again the files it had uploaded.`,
		Example: `  conclave deploy --dry-run
  conclave deploy prod
  conclave deploy staging --allow-unsigned
  conclave deploy prod --certificate-identity https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.MaxDeletes < 0 {
				return usageError{fmt.Errorf("--max-deletes %d: give 0 or more", opt.MaxDeletes)}
			}
			if opt.Jobs < 1 || opt.Jobs > 64 {
				return usageError{fmt.Errorf("--jobs %d: give 1 to 64", opt.Jobs)}
			}
			cfg, warns, err := site.LoadConfig(source)
			if err != nil {
				return err
			}
			printWarnings(cmd, warns)
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			t, err := cfg.DeployTargetNamed(name)
			if err != nil {
				return usageError{err}
			}
			opt.Target = *t
			opt.Dir = out
			if opt.Dir == "" {
				opt.Dir = filepath.Join(source, "public")
			}
			if opt.Policy, err = deploySigner(vf, t, source); err != nil {
				return err
			}
			// The progress line is rewritten in place: on a terminal only.
			if term.IsTerminal(int(os.Stderr.Fd())) {
				opt.Progress = os.Stderr
			}
			// Ctrl-C stops the deploy; a rerun goes on from where it stopped.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := deploy.Deploy(ctx, opt)
			if rep != nil {
				printDeploy(cmd, rep, opt, err)
			}
			return deployFailed(err, rep, t, opt)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&source, "source", "s", ".", "site folder, holding conclave.toml")
	f.StringVarP(&out, "out", "o", "", "the built site to deploy (default SOURCE/public)")
	f.BoolVar(&opt.DryRun, "dry-run", false, "print what would be uploaded and deleted, and change nothing")
	f.IntVar(&opt.MaxDeletes, "max-deletes", deploy.DefaultMaxDeletes, "the most stale objects to delete; with more, nothing is uploaded or deleted")
	f.BoolVar(&opt.AllowUnsigned, "allow-unsigned", false, "deploy an unsigned site, to a target with unsigned = true")
	f.BoolVar(&opt.Force, "force", false, "upload every file, whatever the bucket holds")
	f.BoolVar(&opt.AllowOlder, "allow-older", false, "deploy a site whose release is older than the bucket's (readers that pull refuse it)")
	f.IntVar(&opt.Jobs, "jobs", deploy.DefaultJobs, "uploads at once")
	vf.add(f)
	return cmd
}

// deploySigner is the policy of the signer the flags name or, without
// flags, the target's; nil when neither names one.
func deploySigner(vf verifyFlags, t *site.DeployTarget, source string) (*sign.Policy, error) {
	if !vf.given() {
		if !t.HasSigner() {
			return nil, nil
		}
		// Paths in conclave.toml are relative to the site's folder.
		rel := func(p string) string {
			if p == "" || filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(source, p)
		}
		vf = verifyFlags{key: rel(t.Key), identity: t.Identity, identityRegexp: t.IdentityRegexp,
			issuer: t.Issuer, issuerRegexp: t.IssuerRegexp, trustedRoot: rel(t.TrustedRoot)}
	}
	p, err := vf.policy()
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// printDeploy writes what a deploy did to stdout, or for a dry run (or
// one refused for its deletes) what it would do.
func printDeploy(cmd *cobra.Command, rep *deploy.Report, opt deploy.Options, err error) {
	w, plan := cmd.OutOrStdout(), &rep.Plan
	switch plan.Previous {
	case "", deploy.PreviousNone, deploy.PreviousRead:
	default:
		fmt.Fprintf(cmd.ErrOrStderr(), "conclave: warning: %s: every file was compared with the bucket by the digest in its object's metadata\n", plan.Previous)
	}
	var tooMany *deploy.TooManyDeletesError
	switch {
	case opt.DryRun || errors.As(err, &tooMany):
		printPlan(w, rep, opt)
		return
	case err != nil:
		return // deployFailed says what the bucket holds
	}
	fmt.Fprintf(w, "conclave: deployed %s to %s (%s): %d files listed in %s\n", opt.Dir, rep.Target, rep.URL, rep.Files, format.Manifest)
	if rep.Signer != "" {
		fmt.Fprintf(w, "  signer    %s\n", rep.Signer)
	} else {
		fmt.Fprintln(w, "  signer    none: the site is not signed")
	}
	fmt.Fprintf(w, "  uploaded  %6d  objects, %s (%s and its bundle included)\n", rep.Uploaded, progress.Size(rep.Bytes), format.Manifest)
	fmt.Fprintf(w, "  unchanged %6d  files the bucket held already\n", plan.Unchanged)
	if plan.Resumed > 0 {
		fmt.Fprintf(w, "  resumed   %6d  files uploaded by a deploy that did not finish\n", plan.Resumed)
	}
	fmt.Fprintf(w, "  deleted   %6d  objects the site does not list\n", rep.Deleted)
	if rep.Retries > 0 {
		fmt.Fprintf(w, "  retried   %6d  operations, after a network or server error\n", rep.Retries)
	}
}

// printPlan writes the plan of a deploy: every object it uploads and
// deletes, in order.
func printPlan(w io.Writer, rep *deploy.Report, opt deploy.Options) {
	plan := &rep.Plan
	fmt.Fprintf(w, "conclave: plan to deploy %s to %s (%s): %d files listed in %s\n", opt.Dir, rep.Target, rep.URL, rep.Files, format.Manifest)
	for _, u := range plan.Uploads {
		fmt.Fprintf(w, "  upload  %-7s  %s  (%s)\n", u.Reason, u.Path, progress.Size(u.Size))
	}
	if plan.Manifest {
		fmt.Fprintf(w, "  upload  %-7s  %s\n", "release", format.Manifest)
	}
	if plan.Bundle {
		fmt.Fprintf(w, "  upload  %-7s  %s\n", "release", format.ManifestBundle)
	}
	for _, k := range plan.Deletes {
		// A key comes from the bucket: quoted if it holds anything but
		// printable characters.
		if strings.ContainsFunc(k, func(r rune) bool { return !unicode.IsPrint(r) }) {
			k = strconv.Quote(k)
		}
		fmt.Fprintf(w, "  delete  %-7s  %s\n", "stale", k)
	}
	fmt.Fprintf(w, "  total   uploads %d (%s), deletes %d, unchanged %d, uploaded already %d\n",
		plan.Objects(), progress.Size(plan.Bytes), len(plan.Deletes), plan.Unchanged, plan.Resumed)
	if opt.DryRun {
		fmt.Fprintln(w, "conclave: dry run: nothing was uploaded or deleted")
	}
}

// deployFailed adds a hint to the error of a deploy.
func deployFailed(err error, rep *deploy.Report, t *site.DeployTarget, opt deploy.Options) error {
	if err == nil {
		return nil
	}
	at := fmt.Sprintf("%s:%d", site.ConfigFile, t.Line)
	var (
		tooMany  *deploy.TooManyDeletesError
		noSigner *deploy.NoSignerError
		unsigned *deploy.UnsignedError
		list     diag.List
	)
	switch {
	case errors.As(err, &tooMany):
		return hintError{err: err, hint: fmt.Sprintf("the plan above lists them; if they are to go, run again with --max-deletes %d (is the url, or its prefix, the right one?)", tooMany.N)}
	case errors.As(err, &noSigner):
		return hintError{err: usageError{err}, hint: fmt.Sprintf("give the signer with --key FILE (or --certificate-identity and --certificate-oidc-issuer), or in the target at %s (key = \"FILE.pub\", or identity and issuer)", at)}
	case errors.As(err, &unsigned) && unsigned.Allowed:
		return hintError{err: err, hint: fmt.Sprintf("--allow-unsigned is for a target that takes unsigned sites: give it unsigned = true (%s), or sign the site (conclave sign)", at)}
	case errors.As(err, &unsigned):
		return hintError{err: err, hint: fmt.Sprintf("sign it: conclave sign --key FILE %s (or --keyless in CI); a preview target may take an unsigned site with unsigned = true (%s) and --allow-unsigned", opt.Dir, at)}
	case errors.As(err, &list):
		if rep == nil {
			return hintError{err: verifyError(err), hint: "nothing was uploaded"}
		}
	}
	switch {
	case rep == nil:
		return err
	case rep.Uploaded == 0 && rep.Deleted == 0:
		return hintError{err: err, hint: "nothing was uploaded or deleted: the bucket is as it was"}
	case rep.Released:
		return hintError{err: err, hint: "the new release is published; run conclave deploy again to delete the stale objects left"}
	case rep.Overwritten == 0:
		return hintError{err: err, hint: "the bucket's previous release is as it was, and verifies (only new files were added). Run conclave deploy again: what was uploaded is not uploaded again"}
	}
	return hintError{err: err, hint: fmt.Sprintf("%d files of the new release are in the bucket under the previous %s: it fails verification until a deploy finishes. Run conclave deploy again: what was uploaded is not uploaded again", rep.Overwritten, format.Manifest)}
}
