package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/diag"
)

func buildCmd() *cobra.Command {
	opt := build.Options{Getenv: os.Getenv} // passphrase keys' variables
	var quiet, noCache bool
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the site into public/",
		Long: `Build reads conclave.toml and content/, and writes the site to public/
(or --out). It builds into a temporary folder and replaces the output only
when every page built: after a failed build the previous output is exactly
as it was.`,
		Example: `  conclave build
  conclave build --source ~/briefings --out /srv/www/briefings
  conclave build --drafts`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !noCache {
				opt.CacheKey = cacheKey(cmd)
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
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opt.Source, "source", "s", ".", "site folder, holding conclave.toml")
	f.StringVarP(&opt.Out, "out", "o", "", "output folder (default SOURCE/public)")
	f.BoolVarP(&opt.Drafts, "drafts", "D", false, "include pages marked draft: true")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	f.BoolVar(&noCache, "no-cache", false, "encrypt every restricted block anew, without reading or writing the seal cache in .conclave/")
	return cmd
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
