package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// A published build dates its release: [ReleaseFile], at the root of the
// site, holds the release's time, and SHA256SUMS lists it like any other
// file, so the signature covers it (SHA256SUMS itself keeps the format of
// sha256sum, which has no room for a date). Its whole content is one line:
//
//	{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"}
//
// the format ([ReleaseFormat]), then the time in RFC 3339, in UTC, to the
// second. conclave pull remembers the time of the release it last pulled
// and refuses an older one (DESIGN §10): a server replaying an old signed
// release, to hide what was published since or to keep serving a removed
// reader's keyrings, is refused. conclave verify shows the time.
const (
	// ReleaseFile is the release's file at the root of the site. No page
	// or file of the site's content or theme may be published at its
	// path: the build refuses them.
	ReleaseFile = "release.json"
	// ReleaseFormat is the value of [ReleaseFile]'s "format" field: a
	// reader refuses any other.
	ReleaseFormat = "conclave-release v1"
	// MaxReleaseSize is the most bytes of [ReleaseFile] a reader reads:
	// the build writes 63.
	MaxReleaseSize = 1024
)

// releaseLayout is how [Release.Time] is written: RFC 3339, UTC, seconds.
const releaseLayout = "2006-01-02T15:04:05Z"

// Release is what [ReleaseFile] says of a release.
type Release struct {
	// Time is when the release was built (or the time the build was
	// given: SOURCE_DATE_EPOCH), in UTC, to the second.
	Time time.Time
}

// Marshal returns [ReleaseFile]'s content, ending in a newline. The time
// is written in UTC, to the second (a fraction is dropped); it must be in
// the years 1970 to 9999, which [ParseRelease] accepts.
func (r Release) Marshal() []byte {
	b := make([]byte, 0, 64)
	b = append(b, `{"format":`...)
	b = strconv.AppendQuote(b, ReleaseFormat)
	b = append(b, `,"time":"`...)
	b = r.Time.UTC().Truncate(time.Second).AppendFormat(b, releaseLayout)
	return append(b, "\"}\n"...)
}

// ParseRelease reads [ReleaseFile]'s content. It is strict: it accepts
// exactly what [Release.Marshal] writes, with or without the final
// newline, and refuses anything else with an error saying why (too large,
// not JSON, a field missing, unknown or repeated, another format, a time
// that is not RFC 3339 in UTC to the second, data after the object).
func ParseRelease(data []byte) (Release, error) {
	if len(data) > MaxReleaseSize {
		return Release{}, fmt.Errorf("%d bytes, more than a %s ever holds (%d at most)", len(data), ReleaseFile, MaxReleaseSize)
	}
	var fields struct {
		Format *string `json:"format"`
		Time   *string `json:"time"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fields); err != nil {
		return Release{}, fmt.Errorf("not a release's JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Release{}, errors.New("data after the release's JSON object")
	}
	switch {
	case fields.Format == nil:
		return Release{}, errors.New(`no "format"`)
	case *fields.Format != ReleaseFormat:
		return Release{}, fmt.Errorf("format %q: this conclave reads %q", *fields.Format, ReleaseFormat)
	case fields.Time == nil:
		return Release{}, errors.New(`no "time"`)
	}
	s := *fields.Time
	t, err := time.Parse(releaseLayout, s)
	if err != nil || t.Format(releaseLayout) != s || t.Year() < 1970 {
		why := "an RFC 3339 time in UTC, to the second, such as 2026-12-06T15:58:04Z"
		if zoned, zerr := time.Parse(time.RFC3339Nano, s); zerr == nil {
			switch {
			case zoned.Location() != time.UTC || s[len(s)-1] != 'Z':
				why = "in UTC (ending in Z), such as " + zoned.UTC().Truncate(time.Second).Format(releaseLayout)
			case zoned.Nanosecond() != 0:
				why = "to the second, without a fraction"
			case zoned.Year() < 1970:
				why = "in 1970 or later"
			}
		}
		return Release{}, fmt.Errorf("time %q: not %s", s, why)
	}
	r := Release{Time: t}
	// Nothing but the form Marshal writes: no repeated field, no other
	// order, spacing or escapes.
	if want := r.Marshal(); !bytes.Equal(data, want) && !bytes.Equal(data, want[:len(want)-1]) {
		return Release{}, fmt.Errorf("not in the form conclave writes (%s)", bytes.TrimSuffix(want, []byte("\n")))
	}
	return r, nil
}
