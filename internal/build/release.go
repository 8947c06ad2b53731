package build

import (
	"fmt"
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
		}
	}
	return errs.Err()
}

// themeFile writes a static file of the theme, unless the build writes a
// file at its path itself ([reservedFile]).
func (b *builder) themeFile(p string, data []byte) error {
	if what, ok := reservedFile(p); ok {
		return fmt.Errorf("output path %s is reserved for %s; rename the theme's file", p, what)
	}
	return b.emit(p, data)
}
