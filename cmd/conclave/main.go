// Command conclave builds static briefing sites from markdown.
//
// See "conclave help" for the commands, and the project's README for a
// walk-through.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/diag"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// usageError marks a mistake in the command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// hintError carries a hint printed after the error.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

// run executes the command line and returns the process exit code: 0 on
// success, 1 on failure, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	stderr = &safeWriter{w: stderr}
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	printError(stderr, err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(stderr, "conclave: hint: see 'conclave help' for usage")
		return 2
	}
	return 1
}

func printError(w io.Writer, err error) {
	var list diag.List
	if errors.As(err, &list) && len(list) > 0 {
		for _, e := range list {
			fmt.Fprintf(w, "conclave: error: %v\n", e)
		}
	} else {
		fmt.Fprintf(w, "conclave: error: %v\n", err)
	}
	var vf verifyFailed
	if errors.As(err, &vf) {
		fmt.Fprintf(w, "conclave: verification FAILED: %d problem(s): do not trust this copy of the site\n", vf.total())
	}
	var he hintError
	if errors.As(err, &he) {
		fmt.Fprintf(w, "conclave: hint: %s\n", he.hint)
	}
}

// isCobraUsage recognises cobra's own command-line errors, which it does
// not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "conclave",
		Short: "Build static briefing sites whose restricted passages only their recipients can read",
		Long: `conclave builds a static briefing site from markdown in content/.

Every page carries a TLP label; every build writes SHA256SUMS, the list of
its files and their digests.`,
		Example: `  conclave new site briefings && cd briefings
  conclave new briefing "Embargoed advisory"
  conclave serve
  conclave build`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(buildCmd(), serveCmd(), newCmd(), keysCmd(), versionCmd())
	root.AddCommand(openCmd(), auditCmd(), signCmd(), verifyCmd())
	root.AddCommand(pullCmd(), deployCmd())
	return root
}

// noArgs and exactArgs wrap cobra's argument checks as usage errors.
// rangeArgs is cobra.RangeArgs with its error marked as a usage error.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(lo, hi)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
