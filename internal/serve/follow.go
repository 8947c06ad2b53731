package serve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/watch"
)

// Rebuild is one build after a batch of changes: the new build, or the
// error that stopped it.
type Rebuild struct {
	Batch    watch.Batch
	Files    *output.Memory // nil if the build failed
	Err      error
	Duration time.Duration // from the first change to the build's end
}

// Follow rebuilds the site after every batch of changes until ctx ends
// or batches closes: build is called once per batch with the paths that
// changed (nil if anything may have: a batch with nil Paths), a good build
// is published and a failed one shown over the open pages. done is told
// of each rebuild once the pages have been told (for the terminal and for
// tests). Batches that arrive while a build runs are merged into the next
// build.
func (l *Live) Follow(ctx context.Context, batches <-chan watch.Batch, build func(changed []string) (*output.Memory, []string, error), done func(Rebuild)) {
	for {
		var b watch.Batch
		var ok bool
		select {
		case <-ctx.Done():
			return
		case b, ok = <-batches:
			if !ok {
				return
			}
		}
		// Take whatever else arrived meanwhile: one build for all of it.
		all := b.Paths == nil
	drain:
		for {
			select {
			case more, ok := <-batches:
				if !ok {
					break drain
				}
				all = all || more.Paths == nil
				b.Paths = append(b.Paths, more.Paths...)
			default:
				break drain
			}
		}
		changed := b.Paths
		if all {
			changed = nil
		}
		files, messages, err := build(changed)
		if err != nil {
			l.Fail(messages)
		} else {
			l.Publish(files)
		}
		if done != nil {
			done(Rebuild{Batch: b, Files: files, Err: err, Duration: time.Since(b.First)})
		}
	}
}

// Config is a live preview server for [Run].
type Config struct {
	Root     string         // site folder
	Watch    []string       // slash paths under Root whose changes rebuild the site
	Listener net.Listener   // where to serve
	Options  Options        // which hosts to answer
	First    *output.Memory // the first good build, or nil if the first build failed
	// FirstErrors are the messages of the first build's failure, shown
	// over every page until a build succeeds (when First is nil).
	FirstErrors []string
	// Build builds the site again after the files and folders changed
	// changed (nil: anything may have changed): the new build, or the
	// error and its messages ("file:line: message") to show over the open
	// pages.
	Build func(changed []string) (*output.Memory, []string, error)
	// Rebuilt, if set, is told of each rebuild (terminal, tests).
	Rebuilt func(Rebuild)
	// WatchErrors, if set, is told of the watcher's errors.
	WatchErrors func(error)
	// NextLift, if set, says when the served site changes without an
	// edit (an embargo lifts; ok false: not before an edit): the site is
	// rebuilt then, as after a change to anything. It is asked again
	// after that, and at least every minute.
	NextLift func() (t time.Time, ok bool)
	// Limits bound idle and concurrent connections; zero: DefaultLimits.
	Limits Limits
}

// Run serves c.First, rebuilds after every change to the watched paths
// and reloads the open pages, until ctx ends; then it stops watching,
// ends the pages' event streams and shuts the server down.
func Run(ctx context.Context, c Config) error {
	w, err := watch.New(c.Root, watch.Options{Paths: c.Watch})
	if err != nil {
		return err
	}
	defer w.Close()
	live := NewLive(c.First, c.Options)
	if c.First == nil {
		live.Fail(c.FirstErrors)
	}
	limits := c.Limits
	if limits == (Limits{}) {
		limits = DefaultLimits
	}
	live.limits = limits
	ln := c.Listener
	if c.Options.Network {
		ln = limitPerHost(ln, limits.PerHost)
	}
	srv := &http.Server{Handler: live.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: limits.IdleTimeout}
	srv.RegisterOnShutdown(live.Close)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The watcher's batches, and after any error of the watcher (events
	// lost) a batch that says anything may have changed.
	batches := make(chan watch.Batch)
	go func() {
		for b := range w.Batches() {
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		for err := range w.Errors() {
			if c.WatchErrors != nil {
				c.WatchErrors(err)
			}
			select {
			case batches <- watch.Batch{First: time.Now()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	if c.NextLift != nil {
		go wakeAtLifts(ctx, c.NextLift, batches)
	}
	following := make(chan struct{})
	go func() {
		defer close(following)
		live.Follow(ctx, batches, c.Build, c.Rebuilt)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		cancel()
		<-following
		return err
	case <-ctx.Done():
	}
	<-following
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// wakeAtLifts sends batches a batch that says anything may have changed
// when next says the site changes by itself (an embargo lifts), asking
// next again after each, and at least every minute, until ctx ends.
func wakeAtLifts(ctx context.Context, next func() (time.Time, bool), batches chan<- watch.Batch) {
	var fired time.Time // the lift last woken for: a failed rebuild leaves it due
	for {
		wait, due := time.Minute, false
		if t, ok := next(); ok && !t.Equal(fired) {
			if d := time.Until(t); d < wait {
				wait, due, fired = max(d, 0), true, t
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if !due {
			continue
		}
		select {
		case batches <- watch.Batch{First: time.Now()}:
		case <-ctx.Done():
			return
		}
	}
}
