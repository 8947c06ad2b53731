package format

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A header reads back as written, whatever the path and type hold.
func TestAttachmentHeader(t *testing.T) {
	for _, a := range []Attachment{
		{Path: "briefings/cve/report.pdf", Type: "application/pdf", Size: 1234},
		{Path: "b/a file with spaces/ünïcode %20.txt", Type: "text/plain; charset=utf-8", Size: 0},
		{Path: "b/x=y z\n.bin", Type: "application/octet-stream", Size: 3},
	} {
		plain := append(a.Header(), bytes.Repeat([]byte{'x'}, int(a.Size))...)
		plain = append(plain, 0, 0, 0) // padding
		if bytes.Count(a.Header(), []byte("\n")) != 1 {
			t.Errorf("%q: header %q is not one line", a.Path, a.Header())
		}
		got, start, err := ParseAttachment(plain)
		if err != nil || got != a || start != len(a.Header()) {
			t.Errorf("%q: read back %+v at %d, %v", a.Path, got, start, err)
		}
	}
	for _, bad := range []string{
		"conclave-attachment v1 size=5 type=a path=b\nabc",                                // fewer bytes than it says
		"conclave-attachment v1 size=-1 type=a path=b\n",                                  // negative
		"conclave-attachment v1 type=a path=b\n",                                          // no size
		"conclave-attachment v1 size=1 size=1 type=a path=b\nx",                           // twice
		"conclave-attachment v1 size=1 type=a path=b mode=x\nx",                           // unknown
		"conclave-attachment v1 size=1 type=a path=%zz\nx",                                // bad escape
		"conclave-attachment v1 size=1 type=a path=b" + strings.Repeat(" ", 5000) + "\nx", // no end of line within 4 KiB
	} {
		if _, _, err := ParseAttachment([]byte(bad)); err == nil || errors.Is(err, ErrNotAttachment) {
			t.Errorf("%.60q: err = %v, want a header error", bad, err)
		}
	}
	if _, _, err := ParseAttachment([]byte("<p>A passage.</p>\n")); !errors.Is(err, ErrNotAttachment) {
		t.Errorf("a passage: err = %v, want ErrNotAttachment", err)
	}
}

// FuzzParseAttachment: any plaintext gives an attachment whose bytes lie
// within it, or an error; never a panic.
func FuzzParseAttachment(f *testing.F) {
	f.Add([]byte("conclave-attachment v1 size=3 type=text%2Fplain path=a/b.txt\nabc\x00\x00"))
	f.Add([]byte("conclave-attachment v1 size=99999999999999999999 type=a path=b\n"))
	f.Add([]byte("<p>passage</p>"))
	f.Fuzz(func(t *testing.T, plain []byte) {
		a, start, err := ParseAttachment(plain)
		if err != nil {
			return
		}
		if start <= 0 || start > len(plain) || a.Size < 0 || int64(len(plain)-start) < a.Size {
			t.Fatalf("attachment %+v at %d outside %d bytes", a, start, len(plain))
		}
	})
}
