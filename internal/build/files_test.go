package build

import (
	"reflect"
	"testing"
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
