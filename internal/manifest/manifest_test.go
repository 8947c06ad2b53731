package manifest

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"index.html", "a/b/c.css", "tags/x/index.html", "SHA256SUMS", "a..b", "a/b.c", "x-.y"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/../b", "/abs", "a//b", "a/", "./a", "a\\b", "a\x00b", "new\nline", "tab\there", "\x7f", ".htaccess", "a/.git/config", ".well-known/security.txt", "b/.envrc"} {
		if err := CheckPath(bad); err == nil {
			t.Errorf("CheckPath(%q) accepted", bad)
		}
	}
}

func TestBuildSortsAndExcludes(t *testing.T) {
	got, err := Build([]Entry{
		{Path: "index.html", Sum: sum("home")},
		{Path: "SHA256SUMS.sigstore.json", Sum: sum("sig")},
		{Path: "a/b.html", Sum: sum("b")},
		{Path: "Z.css", Sum: sum("z")},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	var paths []string
	for _, l := range lines {
		paths = append(paths, l[66:])
	}
	if want := "Z.css a/b.html index.html"; strings.Join(paths, " ") != want {
		t.Errorf("paths = %v, want %s", paths, want)
	}
	if !strings.HasPrefix(lines[0], "c") && len(lines[0]) != 66+len("Z.css") {
		t.Errorf("bad line %q", lines[0])
	}
	back, err := Parse(Name, got)
	if err != nil {
		t.Fatalf("Parse(Build()) = %v", err)
	}
	if len(back) != 3 || back[2].Sum != sum("home") {
		t.Errorf("round trip = %+v", back)
	}
}

func TestBuildRefuses(t *testing.T) {
	for _, p := range []string{"../x", "/abs", "a//b", "a\\b", "a/./b", "new\nline", ""} {
		if _, err := Build([]Entry{{Path: p}}); err == nil {
			t.Errorf("Build accepted path %q", p)
		}
	}
	if _, err := Build([]Entry{{Path: "a"}, {Path: "a"}}); err == nil {
		t.Error("Build accepted a repeated path")
	}
}

func TestParseErrors(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name, in, want string
	}{
		{"one space", h + " a\n", "SHA256SUMS:1: want"},
		{"upper hex", strings.ToUpper(h) + "  a\n", "SHA256SUMS:1: digest must be lower-case hex"},
		{"bad hex", strings.Repeat("zz", 32) + "  a\n", "SHA256SUMS:1: bad digest"},
		{"dotdot", h + "  ../etc/passwd\n", "SHA256SUMS:1: unsafe output path"},
		{"absolute", h + "  /etc/passwd\n", "unsafe output path"},
		{"backslash", h + "  a\\b\n", "unsafe output path"},
		{"order", h + "  b\n" + h + "  a\n", "SHA256SUMS:2: a is out of order"},
		{"twice", h + "  a\n" + h + "  a\n", "SHA256SUMS:2: a listed twice"},
		{"self", h + "  SHA256SUMS\n", "must not list itself"},
		{"no newline", h + "  a", "SHA256SUMS:1: last line does not end in a newline"},
		{"blank line", h + "  a\n\n", "SHA256SUMS:2: want"},
		{"binary mode marker", h + " *a\n", "SHA256SUMS:1: want"},
	}
	for _, tt := range tests {
		_, err := Parse(Name, []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Parse error = %v, want %q", tt.name, err, tt.want)
		}
	}
	if e, err := Parse(Name, nil); err != nil || len(e) != 0 {
		t.Errorf("empty manifest: %v, %v", e, err)
	}
}

func FuzzParse(f *testing.F) {
	h := strings.Repeat("0f", 32)
	seeds := []string{"", h + "  a\n", h + "  a\n" + h + "  b/c.html\n", h + "  ../x\n", "junk", h + " *a\n"}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(Name, data)
		if err != nil {
			return
		}
		// Whatever Parse accepts, Build writes back byte for byte.
		out, err := Build(entries)
		if err != nil {
			t.Fatalf("Build of parsed entries: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("round trip changed the manifest:\n%q\n%q", data, out)
		}
	})
}
