// Package progress writes a progress line on a terminal, rewritten in
// place, and sizes for people: what conclave pull and conclave deploy
// show while they work.
package progress

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Line writes the line that line returns to w every 200 ms, each over the
// last with a carriage return, until the function it returns is called,
// which clears it. w must be a terminal.
func Line(w io.Writer, line func() string) (stop func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		width := 0
		for {
			select {
			case <-quit:
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", width))
				return
			case <-tick.C:
				l := line()
				fmt.Fprintf(w, "\r%-*s", width, l)
				width = max(width, len(l))
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// Size writes a number of bytes for people: "512 bytes", "1.5 KiB",
// "16.0 MiB".
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
