package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/serve"
	"github.com/conclave-dev/conclave/internal/site"
)

// watched are the parts of a site a change to which rebuilds it.
var watched = []string{"content", "keys", "themes", "conclave.toml"}

func serveCmd() *cobra.Command {
	opt := build.Options{Getenv: os.Getenv} // passphrase keys' variables
	var bind string
	var port int
	var sealed bool
	var at string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Build the site in memory, serve it for preview, rebuild on save",
		Long: `Serve builds the site in memory (nothing is written to disk), serves it on
http://127.0.0.1:1313/, and rebuilds it whenever a file in content/, keys/,
themes/ or conclave.toml changes; open pages reload by themselves. A build
error shows in the terminal and over the open pages, with its file and line;
the last good build stays served until the next good save. Stop it with
Ctrl-C.

By default it is the author's preview: restricted passages are shown in
plaintext, inside a banner naming their audience and TLP label, and never
written to disk. With --sealed it serves exactly what build publishes.
Preview is only ever served on a loopback address: with --bind on another
address, serve seals as build does, and says so.

Embargoed passages lift when their time comes: the site is rebuilt then,
as after an edit. --at TIME serves the site as it will be at TIME (or was),
every embargo due by then lifted.

It answers only requests for localhost, 127.0.0.1, ::1 or the --bind address,
so that a web page cannot read the preview through a host name of its own
(DNS rebinding). With --bind 0.0.0.0 or :: it serves every interface and
answers any host name.`,
		Example: `  conclave serve
  conclave serve --port 8080 --drafts
  conclave serve --sealed
  conclave serve --at 2026-12-09T17:00:00Z    # the site once that embargo lifts`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return usageError{fmt.Errorf("invalid port %d: must be between 1 and 65535 (or 0 for any free port)", port)}
			}
			stderr := cmd.ErrOrStderr()
			if at != "" {
				if !serve.Loopback(bind) {
					return usageError{fmt.Errorf("--at %s shows embargoed passages as they will be published: it serves only on a loopback address, not on %s", at, bind)}
				}
				t, err := site.ParseEmbargo(at)
				if err != nil {
					return usageError{fmt.Errorf("--at: %v", err)}
				}
				opt.AsOf = t
			}
			opt.Preview = !sealed && serve.Loopback(bind)
			if !sealed && !opt.Preview {
				fmt.Fprintf(stderr, "conclave: preview is off: %s is not a loopback address, so restricted passages are sealed, as build publishes them\n", bind)
			}
			session := build.NewSession(opt)
			// When the next embargo lifts: the site is rebuilt then.
			var (
				liftMu sync.Mutex
				lastOK *build.Report
			)
			nextLift := func() (time.Time, bool) {
				liftMu.Lock()
				defer liftMu.Unlock()
				return lastOK.NextLift()
			}
			built := func(rep *build.Report) {
				liftMu.Lock()
				lastOK = rep
				liftMu.Unlock()
			}
			rep, files, err := session.Build(nil)
			if err == nil {
				built(rep)
			}
			if rep != nil {
				printWarnings(cmd, rep.Warnings)
			}
			var firstErrors []string
			if err == nil {
				rep.Print(cmd.OutOrStdout())
			} else {
				// A mistake in the sources is fixed by a save: serve its
				// errors until then. Anything else (not a site, a folder
				// that cannot be read) ends here.
				if !located(err) {
					return err
				}
				printError(stderr, err)
				fmt.Fprintln(stderr, "conclave: build failed: serving the errors until the site builds; fix the source and save")
				firstErrors = messages(err)
			}
			rebuild := func(changed []string) (*output.Memory, []string, error) {
				rep, files, err := session.Build(changed)
				if rep != nil {
					printWarnings(cmd, rep.Warnings)
				}
				if err == nil {
					built(rep)
				}
				if err != nil {
					printError(stderr, err)
					fmt.Fprintln(stderr, "conclave: build failed: still serving the last good build; fix the source and save")
					return nil, messages(err), err
				}
				return files, nil, nil
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			mode := "author preview: restricted passages in plaintext, on this machine only"
			if !opt.Preview {
				mode = "sealed, as build publishes it"
			}
			if at != "" {
				mode += "; as of " + opt.AsOf.UTC().Format(time.RFC3339) + ", embargoes lifted as they will be then"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "conclave: serving on http://%s/ (%s); watching %s; Ctrl-C to stop\n", ln.Addr(), mode, strings.Join(watched, ", "))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = serve.Run(ctx, serve.Config{
				Root: opt.Source, Watch: watched, Listener: ln, Options: serve.ListenOptions(bind),
				First: files, FirstErrors: firstErrors, Build: rebuild,
				Rebuilt: func(r serve.Rebuild) {
					if r.Err == nil {
						fmt.Fprintf(stderr, "conclave: rebuilt in %s after a change to %s\n", r.Duration.Round(time.Millisecond), changed(r.Batch.Paths))
					}
				},
				WatchErrors: func(err error) { fmt.Fprintf(stderr, "conclave: warning: watching: %v\n", err) },
				NextLift:    nextLift,
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(stderr, "conclave: stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opt.Source, "source", "s", ".", "site folder, holding conclave.toml")
	f.BoolVarP(&opt.Drafts, "drafts", "D", false, "include pages marked draft: true")
	f.BoolVar(&sealed, "sealed", false, "serve exactly what build publishes: restricted passages sealed")
	f.StringVar(&at, "at", "", "serve the site as it will be at TIME (RFC 3339, such as 2026-12-09T17:00:00Z): embargoes due by then are lifted; loopback only")
	f.StringVar(&bind, "bind", "127.0.0.1", "address or host name to listen on and answer to; 0.0.0.0 or :: listens on every interface and answers any host")
	f.IntVarP(&port, "port", "p", 1313, "port to listen on, 1-65535; 0 picks any free port")
	return cmd
}

// messages are an error's lines, as printError prints them.
func messages(err error) []string {
	var list diag.List
	if errors.As(err, &list) && len(list) > 0 {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

// located reports whether err is about a place in the site's sources
// (file:line), which an edit can fix.
func located(err error) bool {
	var list diag.List
	var one *diag.Error
	return errors.As(err, &list) || errors.As(err, &one)
}

// changed names the paths of a batch for the terminal.
func changed(paths []string) string {
	switch len(paths) {
	case 0:
		return "the site"
	case 1:
		return paths[0]
	}
	return fmt.Sprintf("%s and %d more", paths[0], len(paths)-1)
}
