package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/sign"
)

// What a hostile site puts in a message reaches the terminal inert: no
// escape sequence, carriage return, bidirectional override or invalid
// UTF-8, and no endless line.
func TestSafeWriter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain: ok\n\tindented\n", "plain: ok\n\tindented\n"},
		{"unsupported media type: \x1b[2K\rconclave: verified\x1b[8m\n", `unsupported media type: \x1b[2K\x0dconclave: verified\x1b[8m` + "\n"},
		{"site/index\u200b.html and \u202etxt.exe\n", `site/index\u200b.html and \u202etxt.exe` + "\n"},
		{"bad \xff\xfe utf-8, C1 \u009b, DEL \x7f, café\n", `bad \xff\xfe utf-8, C1 \x9b, DEL \x7f, café` + "\n"},
	} {
		var b bytes.Buffer
		w := &safeWriter{w: &b}
		n, err := w.Write([]byte(c.in))
		if err != nil || n != len(c.in) {
			t.Errorf("Write(%q) = %d, %v", c.in, n, err)
		}
		if b.String() != c.want {
			t.Errorf("Write(%q) wrote %q, want %q", c.in, b.String(), c.want)
		}
	}
	var b bytes.Buffer
	w := &safeWriter{w: &b}
	w.Write([]byte("error: " + strings.Repeat("a", 10*maxLine)))
	w.Write([]byte(strings.Repeat("b", 100) + "\nnext line\n"))
	lines := strings.Split(b.String(), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "… (line cut)") || len(lines[0]) > maxLine+len(" … (line cut)") || lines[1] != "next line" {
		t.Errorf("a long line gave %d lines, the first of %d bytes ending %q, then %q", len(lines), len(lines[0]), lines[0][max(0, len(lines[0])-20):], lines[1:])
	}
}

// The error of a command goes through it.
func TestErrorsReachTheTerminalInert(t *testing.T) {
	var out, errs bytes.Buffer
	code := run([]string{"verify", "--key", "no\x1b[2Jsuch.pub", t.TempDir()}, &out, &errs)
	if code == 0 || strings.ContainsRune(errs.String(), 0x1b) || !strings.Contains(errs.String(), `\x1b[2J`) {
		t.Errorf("exit %d, stderr %q", code, errs.String())
	}
}

// A verification that listed only the first problems counts them all in
// its verdict.
func TestVerifyFailedCountsEveryProblem(t *testing.T) {
	list := diag.List{
		&diag.Error{File: "site/a.html", Msg: "digest mismatch"},
		&diag.Error{File: "site", Msg: "41 more problems not listed", Err: &sign.MoreProblems{N: 41}},
	}
	var b bytes.Buffer
	printError(&b, verifyFailed{list})
	if !strings.Contains(b.String(), "verification FAILED: 42 problem(s)") {
		t.Errorf("printed:\n%s", b.String())
	}
}
