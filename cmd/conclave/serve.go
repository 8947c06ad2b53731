package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/serve"
)

func serveCmd() *cobra.Command {
	opt := build.Options{Getenv: os.Getenv} // passphrase keys' variables
	var bind string
	var port int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Build the site in memory and serve it for preview",
		Long: `Serve builds the site in memory (nothing is written to disk) and serves it
on http://127.0.0.1:1313/ for preview. Stop it with Ctrl-C.

It answers only requests for localhost, 127.0.0.1, ::1 or the --bind address,
so that a web page cannot read the preview through a host name of its own
(DNS rebinding). With --bind 0.0.0.0 or :: it serves every interface and
answers any host name.`,
		Example: `  conclave serve
  conclave serve --port 8080 --drafts`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return usageError{fmt.Errorf("invalid port %d: must be between 1 and 65535 (or 0 for any free port)", port)}
			}
			rep, files, err := build.Memory(opt)
			if rep != nil {
				printWarnings(cmd, rep.Warnings)
			}
			if err != nil {
				return err
			}
			rep.Print(cmd.ErrOrStderr())
			ln, err := net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: serve.Handler(files, serve.ListenOptions(bind)), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(cmd.OutOrStdout(), "conclave: serving on http://%s/ (Ctrl-C to stop)\n", ln.Addr())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "conclave: stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opt.Source, "source", "s", ".", "site folder, holding conclave.toml")
	f.BoolVarP(&opt.Drafts, "drafts", "D", false, "include pages marked draft: true")
	f.StringVar(&bind, "bind", "127.0.0.1", "address or host name to listen on and answer to; 0.0.0.0 or :: listens on every interface and answers any host")
	f.IntVarP(&port, "port", "p", 1313, "port to listen on, 1-65535; 0 picks any free port")
	return cmd
}
