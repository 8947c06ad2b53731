package build

import (
	"fmt"
	"strings"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/site"
)

// releaseTime is the time a build writes in release.json: now, in UTC, to
// the second, or the time given ([Options.Now]).
func releaseTime(now time.Time) time.Time {
	if now.IsZero() {
		now = time.Now()
	}
	return now.UTC().Truncate(time.Second)
}

// release writes release.json: the release's time, which SHA256SUMS lists
// and the signature covers. The author's preview is no release.
func (b *builder) release() error {
	if b.preview {
		return nil
	}
	return b.emit(format.ReleaseFile, format.Release{Time: b.now}.Marshal())
}

// reservedFile says what the build writes at the root of the output path
// p, if it writes a file there itself: no content or theme file may be
// published at p.
func reservedFile(p string) (what string, ok bool) {
	switch {
	case p == format.ReleaseFile:
		return "the release's time (every published build writes it)", true
	case manifest.Excluded(p):
		return "the manifest and its signatures (" + manifest.Name + "*)", true
	}
	return "", false
}

// checkReserved refuses a content file whose output path is one the
// build writes itself ([reservedFile]), on every build, the preview
// included, before anything is written. (A theme's static file is refused
// as it is written: see [builder.themeFile].)
func checkReserved(s *site.Site) error {
	var errs diag.List
	for _, f := range s.Files {
		if what, ok := reservedFile(f.OutPath); ok {
			errs.Add(diag.Errorf(f.Path, 0, "output path %s is reserved for %s; rename the file", f.OutPath, what))
		} else if searchPath(s, f.OutPath) {
			errs.Add(diag.Errorf(f.Path, 0, "output path %s is in %s/, reserved for the search page and index; rename the file, or turn search off ([search] enabled = false in %s)", f.OutPath, format.SearchDir, site.ConfigFile))
		}
	}
	for _, p := range s.Pages {
		if searchPath(s, strings.TrimPrefix(p.URL, "/")) {
			errs.Add(diag.Errorf(p.Path, 0, "its address %s is in /%s/, reserved for the search page; move the page, give it another slug, or turn search off ([search] enabled = false in %s)", p.URL, format.SearchDir, site.ConfigFile))
		}
	}
	return errs.Err()
}

// searchPath reports whether the output path p is in the folder of the
// search page and index, on a site with search.
func searchPath(s *site.Site, p string) bool {
	return !s.Config.NoSearch && (p == format.SearchDir || strings.HasPrefix(p, format.SearchDir+"/"))
}

// themeFile writes a static file of the theme, unless the build writes a
// file at its path itself ([reservedFile]).
func (b *builder) themeFile(p string, data []byte) error {
	if what, ok := reservedFile(p); ok {
		return fmt.Errorf("output path %s is reserved for %s; rename the theme's file", p, what)
	}
	if searchPath(b.site, p) {
		return fmt.Errorf("output path %s is in %s/, reserved for the search page and index; rename the theme's file", p, format.SearchDir)
	}
	return b.emit(p, data)
}
