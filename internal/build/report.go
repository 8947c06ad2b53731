package build

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Print writes the one-screen summary of a build.
func (r *Report) Print(w io.Writer) {
	dest := "in memory"
	if r.Out != "" {
		dest = "into " + r.Out
	}
	fmt.Fprintf(w, "conclave: built %s in %s\n", dest, round(r.Duration))
	drafts := ""
	switch {
	case r.Drafts == 0:
	case r.DraftFiles > 0:
		drafts = fmt.Sprintf("  (%s left out with %s; --drafts includes them)", plural(r.Drafts, "draft"), plural(r.DraftFiles, "file"))
	case r.Drafts == 1:
		drafts = "  (1 draft left out; --drafts includes it)"
	default:
		drafts = fmt.Sprintf("  (%d drafts left out; --drafts includes them)", r.Drafts)
	}
	fmt.Fprintf(w, "  briefings  %6d%s\n", r.Briefings, drafts)
	fmt.Fprintf(w, "  lists      %6d  home, sections, tags\n", r.Lists)
	if r.Reused > 0 {
		fmt.Fprintf(w, "  unchanged  %6d  pages and lists published again from the last build (page cache)\n", r.Reused)
	}
	fmt.Fprintf(w, "  tags       %6d\n", r.Tags)
	if r.Scan.Clean > 0 {
		fmt.Fprintf(w, "  scanned    %6d  files for restricted text; %d more unchanged since the last build, found clean then\n", r.Scan.Files, r.Scan.Clean)
	}
	if st := r.Seal; st.Blocks > 0 {
		whole := ""
		if st.Pages > 0 {
			whole = fmt.Sprintf(" (%s restricted as a whole)", plural(st.Pages, "page"))
		}
		fmt.Fprintf(w, "  sealed     %6d  passages%s, for %s; %s for %s\n", st.Blocks, whole, plural(st.Audiences, "audience"), plural(st.Keyrings, "keyring"), plural(st.Recipients, "recipient"))
		if st.Attachments > 0 {
			fmt.Fprintf(w, "  attachments %5d  sealed with the passages that link them\n", st.Attachments)
		}
		if st.CachedPackets > 0 {
			fmt.Fprintf(w, "             %6d  packets unchanged since the last build (seal cache)\n", st.CachedPackets)
		}
	}
	if r.Previewed > 0 {
		whole := ""
		if r.PreviewedPages > 0 {
			whole = fmt.Sprintf(" (%s restricted as a whole)", plural(r.PreviewedPages, "page"))
		}
		fmt.Fprintf(w, "  preview    %6d  restricted passages%s shown in clear, nothing sealed: publish with conclave build\n", r.Previewed, whole)
	}
	r.printEmbargoes(w)
	if r.Previewed > 0 || r.Files == 0 { // a preview writes no SHA256SUMS: it is no release
		fmt.Fprintf(w, "  files      %6d  %s, in memory\n", r.Files, Size(r.Bytes))
		return
	}
	fmt.Fprintf(w, "  files      %6d  %s: SHA256SUMS and the %d files it lists\n", r.Files, Size(r.Bytes), r.Files-1)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// Size formats a byte count with a decimal unit, e.g. "312.4 kB".
func Size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// SoonLifts is how far ahead the summary lists the embargoes that lift.
const SoonLifts = 7 * 24 * time.Hour

// printEmbargoes writes the embargoes' lines of the summary: how many
// lifted and hold, those that lift within [SoonLifts], and, for a build as
// of another time, that it is one.
func (r *Report) printEmbargoes(w io.Writer) {
	if r.LookAhead {
		fmt.Fprintf(w, "  as of      %s (--now): embargoes lift as they would then; a look ahead, never published\n", r.AsOf.UTC().Format(time.RFC3339))
	}
	if len(r.Embargoes) == 0 {
		return
	}
	lifted := 0
	for _, e := range r.Embargoes {
		if e.Lifted {
			lifted++
		}
	}
	fmt.Fprintf(w, "  embargoes  %6d  lifted: published in clear; %d still sealed\n", lifted, len(r.Embargoes)-lifted)
	for _, e := range r.LiftsWithin(SoonLifts) {
		what := "passage for " + strings.Join(e.Names, ",")
		if e.Whole {
			what = "page for " + strings.Join(e.Names, ",")
		}
		if len(e.Names) == 0 {
			what = strings.TrimSuffix(what, " for ")
		}
		fmt.Fprintf(w, "             lifts %s (in %s): %s:%d, %s, then %s\n", e.Time.UTC().Format(time.RFC3339), until(e.Time.Sub(r.AsOf)), e.Page, e.Line, what, e.After)
	}
}

// until says how long d is, in days and hours, or minutes under an hour.
func until(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}
