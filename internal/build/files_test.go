package build

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestFileNames(t *testing.T) {
	text := "See [the report](files/Report%202026.PDF) and <a href=\"/b/poc.tar.gz\">x</a>.\n" +
		"Full URL: https://site.example/b/shot.png, a version 1.2, a sentence end.\n" +
		"`dump.pcap` and ../up/notes.txt~\n" +
		"secret\\_zebra\\_poc.txt, a&lowbar;b&#95;c.txt, secretfile\\-zebra.txt, x&#45;y.bin, plain_name.txt\n" +
		"dots only %-escaped: files/leak%2Ename%2Ezip\n"
	got := fileNames([]byte(text), 10)
	want := map[string]int{
		"report 2026.pdf":      10,
		"poc.tar.gz":           10,
		"site.example":         11,
		"shot.png":             11,
		"1.2":                  11,
		"dump.pcap":            12,
		"notes.txt":            12,
		"secret_zebra_poc.txt": 13,
		"a_b_c.txt":            13,
		"secretfile-zebra.txt": 13,
		"x-y.bin":              13,
		"plain_name.txt":       13,
		"leak.name.zip":        14,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fileNames = %v\nwant %v", got, want)
	}
	// Text with nothing to decode is read as it is, and left as it was.
	plain := []byte("a capture, dump.PCAP, and notes\n")
	if got := fileNames(plain, 3); !reflect.DeepEqual(got, map[string]int{"dump.pcap": 3}) || string(plain) != "a capture, dump.PCAP, and notes\n" {
		t.Errorf("fileNames(%q) = %v", plain, got)
	}
}

// nameWords splits text as a rune-by-rune reading does: a word is a run
// of letters, digits and "._~%+-/", with the line of its end.
func FuzzNameWords(f *testing.F) {
	for _, s := range []string{"", "a.txt", "see report.pdf\nand\u00e9t\u00e9.doc", "\xff\xfe a/b.c \u0660\u0661.x\n\n", "x\u200by.z %2e"} {
		f.Add([]byte(s), 1)
	}
	f.Fuzz(func(t *testing.T, text []byte, first int) {
		type word struct {
			w    string
			line int
		}
		var got, want []word
		nameWords(text, first, func(w []byte, line int) { got = append(got, word{string(w), line}) })
		line, start := first, -1
		for i := 0; i < len(text); {
			r, size := utf8.DecodeRune(text[i:])
			if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._~%+-/", r) {
				if start < 0 {
					start = i
				}
			} else if start >= 0 {
				want = append(want, word{string(text[start:i]), line})
				start = -1
			}
			if r == '\n' {
				line++
			}
			i += size
		}
		if start >= 0 {
			want = append(want, word{string(text[start:]), line})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("nameWords(%q) = %+v, want %+v", text, got, want)
		}
	})
}
