// Command reload measures how long a preview server takes to serve an
// edit: it appends a unique line to a page's markdown, then polls the
// page's URL every 2 ms until the line is served. Used by
// .ci/bench/serve, which runs it against conclave serve and hugo server,
// each on its own copy of the same corpus, edits taking turns.
//
//	go run ./.ci/bench/reload -n 100 NAME=FILE=URL=PID ...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

type target struct {
	name, file, url string
	pid             string
	orig            []byte
	times           []time.Duration
	rssBefore       int
}

func main() {
	n := flag.Int("n", 100, "edits per server")
	flag.Parse()
	var targets []*target
	for _, a := range flag.Args() {
		parts := strings.SplitN(a, "=", 4)
		if len(parts) != 4 {
			fmt.Fprintln(os.Stderr, "reload: want NAME=FILE=URL=PID, got", a)
			os.Exit(2)
		}
		t := &target{name: parts[0], file: parts[1], url: parts[2], pid: parts[3]}
		var err error
		if t.orig, err = os.ReadFile(t.file); err != nil {
			fail(err)
		}
		targets = append(targets, t)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, t := range targets {
		t.rssBefore = rss(t.pid)
	}
	for i := range *n {
		for _, t := range targets {
			marker := fmt.Sprintf("reload-marker-%s-%d", t.name, i)
			body := append(append([]byte(nil), t.orig...), "\n\n"+marker+"\n"...)
			start := time.Now()
			if err := os.WriteFile(t.file, body, 0o644); err != nil {
				fail(err)
			}
			for {
				if served(client, t.url, marker) {
					break
				}
				if time.Since(start) > 30*time.Second {
					fail(fmt.Errorf("%s: edit %d not served within 30 s", t.name, i))
				}
				time.Sleep(2 * time.Millisecond)
			}
			t.times = append(t.times, time.Since(start))
			time.Sleep(500 * time.Millisecond) // let the server finish its work (Hugo goes on after serving)
		}
	}
	fmt.Printf("| server | mean (ms) | median (ms) | p90 (ms) | worst (ms) | RSS before → after %d edits (MiB) |\n", *n)
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, t := range targets {
		slices.Sort(t.times)
		var sum time.Duration
		for _, d := range t.times {
			sum += d
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.1f | %.0f → %.0f |\n", t.name,
			ms(sum/time.Duration(len(t.times))), ms(t.times[len(t.times)/2]),
			ms(t.times[len(t.times)*9/10]), ms(t.times[len(t.times)-1]),
			float64(t.rssBefore)/1024, float64(rss(t.pid))/1024)
		if err := os.WriteFile(t.file, t.orig, 0o644); err != nil {
			fail(err)
		}
	}
}

// served reports whether the page at url holds marker.
func served(c *http.Client, url, marker string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return bytes.Contains(b, []byte(marker))
}

// rss is the resident set size of a process in KiB (0 if unknown).
func rss(pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
			return kib
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "reload:", err)
	os.Exit(1)
}
