package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/site"
)

func buildCmd() *cobra.Command {
	opt := build.Options{Getenv: os.Getenv} // passphrase keys' variables
	var quiet, noCache bool
	var asOf string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the site into public/",
		Long: `Build reads conclave.toml and content/, and writes the site to public/
(or --out). It builds into a temporary folder and replaces the output only
when every page built: after a failed build the previous output is exactly
as it was.

Every build dates its release in release.json, which SHA256SUMS lists (so
the signature covers it): conclave pull refuses a release older than one it
already pulled. The time is now, or SOURCE_DATE_EPOCH when it is set (the
number of seconds since 1970-01-01T00:00:00Z, the reproducible-builds
convention): the same sources and time build the same bytes. Give every
release a later time than the last: a release of the same time as the one
a reader holds is accepted in its place.

Embargoes (embargo= on a restricted block, embargo: on a page) lift in the
first build at or after their time, by this machine's clock: before it the
passage is sealed, from it on it is published in clear. The summary lists
those that lift within 7 days. --now TIME builds the site as it would be at
TIME, for a look ahead or back; such a build is never written to public/.`,
		Example: `  conclave build
  conclave build --source ~/briefings --out /srv/www/briefings
  conclave build --drafts
  SOURCE_DATE_EPOCH=1796572684 conclave build    # a release dated 2026-12-06T15:58:04Z
  conclave build --now 2026-12-09T17:00:00Z --out /tmp/lifted    # the site once that embargo lifts`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !noCache {
				opt.CacheKey = cacheKey(cmd)
			}
			var err error
			if opt.Now, err = releaseTime(os.LookupEnv); err != nil {
				return err
			}
			if asOf != "" {
				if opt.AsOf, err = site.ParseEmbargo(asOf); err != nil {
					return usageError{fmt.Errorf("--now: %v", err)}
				}
				if opt.Out == "" {
					return usageError{build.ErrAsOfPublic}
				}
			}
			rep, err := build.Run(opt)
			if rep != nil {
				printWarnings(cmd, rep.Warnings)
			}
			if err != nil {
				return buildFailed(err, opt.Out, opt.Source)
			}
			if !quiet {
				rep.Print(cmd.OutOrStdout())
			}
			// A lift due soon that would stop the build then: say so now.
			if opt.AsOf.IsZero() {
				for _, c := range build.CheckLifts(opt, rep) {
					if c.Err == nil {
						continue
					}
					w := cmd.ErrOrStderr()
					fmt.Fprintf(w, "conclave: warning: once the embargoes of %s lift, the site does not build (check with --now %s --out DIR), and they would not be published:\n", c.Time.UTC().Format(time.RFC3339), c.Time.UTC().Format(time.RFC3339))
					var list diag.List
					if !errors.As(c.Err, &list) {
						list = diag.List{&diag.Error{Msg: c.Err.Error()}}
					}
					for _, e := range list {
						fmt.Fprintf(w, "conclave: warning:   %v\n", e)
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opt.Source, "source", "s", ".", "site folder, holding conclave.toml")
	f.StringVarP(&opt.Out, "out", "o", "", "output folder (default SOURCE/public)")
	f.BoolVarP(&opt.Drafts, "drafts", "D", false, "include pages marked draft: true")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	f.StringVar(&asOf, "now", "", "build as of TIME (RFC 3339, such as 2026-12-09T17:00:00Z): embargoes lift as they would then; only with --out to a folder other than the site's public/")
	f.BoolVar(&noCache, "no-cache", false, "encrypt every restricted block anew, without reading or writing the seal cache in .conclave/")
	return cmd
}

// maxSourceDate is the last second a release's time may name: the end of
// the year 9999, the last that RFC 3339 writes.
const maxSourceDate = 253402300799

// releaseTime is the time of the release a build makes: SOURCE_DATE_EPOCH
// if it is set and not empty (a whole number of seconds since
// 1970-01-01T00:00:00Z, as reproducible builds set it), else now, in UTC,
// to the second.
func releaseTime(lookupEnv func(string) (string, bool)) (time.Time, error) {
	v, ok := lookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > maxSourceDate || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a time: want the number of seconds since 1970-01-01T00:00:00Z, such as %d, or unset it to date the release now", v, time.Date(2026, 12, 6, 15, 58, 4, 0, time.UTC).Unix())
	}
	return time.Unix(n, 0).UTC(), nil
}

func printWarnings(cmd *cobra.Command, warns []*diag.Warning) {
	for _, w := range warns {
		fmt.Fprintf(cmd.ErrOrStderr(), "conclave: warning: %v\n", w)
	}
}

// buildFailed adds to a build error how many problems there were and that
// the previous output is untouched.
func buildFailed(err error, out, src string) error {
	if out == "" {
		out = "public/"
		if src != "" && src != "." {
			out = src + "/public/"
		}
	}
	n := 1
	var list diag.List
	if errors.As(err, &list) {
		n = len(list)
	}
	hint := fmt.Sprintf("build failed with %d problem(s); %s was left as it was", n, out)
	if n == 1 {
		hint = fmt.Sprintf("build failed; %s was left as it was", out)
	}
	return hintError{err: err, hint: hint}
}
