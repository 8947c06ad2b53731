package format

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The file is the contract's one line, as encoding/json would write it.
func TestReleaseMarshal(t *testing.T) {
	at := time.Date(2026, 12, 6, 15, 58, 4, 0, time.UTC)
	const want = `{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"}` + "\n"
	for _, in := range []time.Time{
		at,
		at.Add(999 * time.Millisecond),     // a fraction is dropped
		at.In(time.FixedZone("CET", 3600)), // written in UTC
		at.In(time.FixedZone("", -7*3600)).Add(time.Nanosecond), // both
	} {
		got := Release{Time: in}.Marshal()
		if string(got) != want {
			t.Errorf("Marshal(%v) = %q, want %q", in, got, want)
		}
	}
	j, err := json.Marshal(map[string]string{"format": ReleaseFormat, "time": "2026-12-06T15:58:04Z"})
	if err != nil || string(j)+"\n" != want {
		t.Errorf("encoding/json writes %s (%v)", j, err)
	}
	if n := len(want); n > MaxReleaseSize {
		t.Errorf("the file is %d bytes, more than MaxReleaseSize", n)
	}
	r, err := ParseRelease([]byte(want))
	if err != nil || !r.Time.Equal(at) || r.Time.Location() != time.UTC {
		t.Errorf("ParseRelease(Marshal) = %v, %v", r.Time, err)
	}
}

// ParseRelease accepts what Marshal writes, with or without its newline,
// and nothing else, saying why.
func TestParseRelease(t *testing.T) {
	const good = `{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"}`
	for _, data := range []string{good, good + "\n", `{"format":"conclave-release v1","time":"1970-01-01T00:00:00Z"}`, `{"format":"conclave-release v1","time":"9999-12-31T23:59:59Z"}`} {
		if _, err := ParseRelease([]byte(data)); err != nil {
			t.Errorf("%q: %v", data, err)
		}
	}
	tests := []struct{ data, want string }{
		{"", "not a release's JSON: EOF"},
		{"null", `no "format"`},
		{"[]", "not a release's JSON"},
		{good[:30], "not a release's JSON: unexpected EOF"},
		{`{"format":"conclave-release v2","time":"2026-12-06T15:58:04Z"}`, `format "conclave-release v2": this conclave reads "conclave-release v1"`},
		{`{"format":"conclave-attachment v1","time":"2026-12-06T15:58:04Z"}`, `format "conclave-attachment v1"`},
		{`{"time":"2026-12-06T15:58:04Z"}`, `no "format"`},
		{`{"format":"conclave-release v1"}`, `no "time"`},
		{`{"format":"conclave-release v1","time":null}`, `no "time"`},
		{`{"format":"conclave-release v1","time":1796572684}`, "not a release's JSON: json: cannot unmarshal number"},
		{`{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z","signer":"x"}`, `unknown field "signer"`},
		{`{"format":"conclave-release v1","time":"2026-12-06T16:58:04+01:00"}`, `time "2026-12-06T16:58:04+01:00": not in UTC (ending in Z), such as 2026-12-06T15:58:04Z`},
		{`{"format":"conclave-release v1","time":"2026-12-06T15:58:04+00:00"}`, `not in UTC (ending in Z), such as 2026-12-06T15:58:04Z`},
		{`{"format":"conclave-release v1","time":"2026-12-06T15:58:04.5Z"}`, `time "2026-12-06T15:58:04.5Z": not to the second, without a fraction`},
		{`{"format":"conclave-release v1","time":"2026-12-06T15:58Z"}`, `not an RFC 3339 time in UTC, to the second, such as 2026-12-06T15:58:04Z`},
		{`{"format":"conclave-release v1","time":"2026-12-06 15:58:04Z"}`, `not an RFC 3339 time`},
		{`{"format":"conclave-release v1","time":"2026-12-06T15:58:04z"}`, `not an RFC 3339 time`},
		{`{"format":"conclave-release v1","time":"2026-02-30T15:58:04Z"}`, `not an RFC 3339 time`},
		{`{"format":"conclave-release v1","time":"Sun, 06 Dec 2026 15:58:04 UTC"}`, `not an RFC 3339 time`},
		{`{"format":"conclave-release v1","time":"1969-12-31T23:59:59Z"}`, `not in 1970 or later`},
		{`{"format":"conclave-release v1","time":"0001-01-01T00:00:00Z"}`, `not in 1970 or later`},
		{`{"format":"conclave-release v1","time":""}`, `time "": not an RFC 3339 time`},
		{good + `{}`, "data after the release's JSON object"},
		{good + "\nx", "data after the release's JSON object"},
		{good + `,`, "data after the release's JSON object"},
		{good + "\n\n", "not in the form conclave writes"},
		{good + "\r\n", "not in the form conclave writes"},
		{" " + good, "not in the form conclave writes"},
		{`{"time":"2026-12-06T15:58:04Z","format":"conclave-release v1"}`, "not in the form conclave writes"},
		{`{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z","time":"2026-12-06T15:58:04Z"}`, "not in the form conclave writes"},
		{`{"format":"conclave-release v1","time":"1970-01-01T00:00:00Z","time":"2026-12-06T15:58:04Z"}`, "not in the form conclave writes"},
		{`{"FORMAT":"conclave-release v1","Time":"2026-12-06T15:58:04Z"}`, "not in the form conclave writes"},
		{`{"format":"conclave-release\u0020v1","time":"2026-12-06T15:58:04Z"}`, "not in the form conclave writes"},
		{strings.Repeat(" ", MaxReleaseSize-len(good)) + good, "not in the form conclave writes"},
		{strings.Repeat(" ", MaxReleaseSize+1-len(good)) + good, "1025 bytes, more than a release.json ever holds (1024 at most)"},
		{good + strings.Repeat("\n", 1<<20), "1048638 bytes, more than a release.json ever holds"},
	}
	for _, tt := range tests {
		_, err := ParseRelease([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.80q: error %v, want %q", tt.data, err, tt.want)
		}
	}
}

// Whatever ParseRelease accepts is what Marshal writes for the time it
// returns, in UTC and to the second: no two files read as one release.
func FuzzParseRelease(f *testing.F) {
	f.Add([]byte(`{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"}` + "\n"))
	f.Add([]byte(`{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"}`))
	f.Add([]byte(`{"format":"conclave-release v1","time":"2026-12-06T16:58:04+01:00"}`))
	f.Add([]byte(`{"format":"conclave-release v1","time":"2026-12-06T15:58:04.123Z"}`))
	f.Add([]byte(`{"time":"2026-12-06T15:58:04Z","format":"conclave-release v1"}`))
	f.Add([]byte(`{"format":"conclave-release v1","time":"2026-12-06T15:58:04Z"} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRelease(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if len(data) > MaxReleaseSize {
			t.Fatalf("accepted %d bytes", len(data))
		}
		if r.Time.Location() != time.UTC || r.Time.Nanosecond() != 0 || r.Time.Year() < 1970 || r.Time.Year() > 9999 {
			t.Fatalf("accepted the time %v", r.Time)
		}
		m := r.Marshal()
		if !bytes.Equal(data, m) && !bytes.Equal(append(data, '\n'), m) {
			t.Fatalf("accepted %q, which Marshal writes as %q", data, m)
		}
		again, err := ParseRelease(m)
		if err != nil || !again.Time.Equal(r.Time) {
			t.Fatalf("Marshal's %q reads as %v, %v", m, again.Time, err)
		}
	})
}
