package secret

import (
	"bytes"
	"strings"
	"testing"
)

// fakeAgeKey is built in two parts so that no source file holds what looks
// like a real age secret key.
const fakeAgeKey = "AGE-SECRET-KEY-" + "1"

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		what string
	}{
		{"none", "hello\nworld\n", 0, ""},
		{"age", "a\nb\n# created: x\n" + fakeAgeKey + "QQQ\n", 4, "an age secret key"},
		{"age pq", "AGE-SECRET-KEY-PQ-1XYZ", 1, "an age secret key"},
		{"plugin", "x\nAGE-PLUGIN-YUBIKEY-1ABC\n", 2, "an age plugin identity"},
		{"rsa", "text\n-----BEGIN RSA PRIVATE KEY-----\nMII\n", 2, "a PEM private key block"},
		{"openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\n", 1, "a PEM private key block"},
		{"cosign", "\n\n-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n", 3, "a PEM private key block"},
		{"public key is fine", "-----BEGIN PUBLIC KEY-----\nMFk\n-----END PUBLIC KEY-----\n", 0, ""},
		{"prose mention is fine", "the words PRIVATE KEY----- in prose\n", 0, ""},
		{"prose then header", "PRIVATE KEY----- here\n-----BEGIN EC PRIVATE KEY-----\n", 2, "a PEM private key block"},
		{"pgp", "Key:\n\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQ\n", 3, "an OpenPGP private key block"},
		{"pgp public is fine", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQ\n", 0, ""},
		{"putty", "PuTTY-User-Key-File-3: ssh-ed25519\n", 1, "a PuTTY private key"},
		{"earliest wins", "-----BEGIN EC PRIVATE KEY-----\n" + fakeAgeKey + "\n", 1, "a PEM private key block"},
	}
	for _, tt := range tests {
		line, what, ok := Find([]byte(tt.in))
		if ok != (tt.line > 0) || line != tt.line || what != tt.what {
			t.Errorf("%s: Find = %d, %q, %v; want %d, %q", tt.name, line, what, ok, tt.line, tt.what)
		}
	}
}

// TestChunks gives every byte once, in order, with the right line numbers.
func TestChunks(t *testing.T) {
	text := strings.Repeat("0123456789\n", 1000) + strings.Repeat("x", 250) + "\nend"
	var got strings.Builder
	err := Chunks(strings.NewReader(text), 64, func(chunk []byte, line int) bool {
		if want := strings.Count(got.String(), "\n") + 1; line != want {
			t.Fatalf("chunk at line %d, want %d", line, want)
		}
		if len(chunk) > 64 {
			t.Fatalf("chunk of %d bytes, more than 64", len(chunk))
		}
		got.Write(chunk)
		return true
	})
	if err != nil || got.String() != text {
		t.Fatalf("Chunks gave %d bytes (err %v), want the %d bytes read", got.Len(), err, len(text))
	}
}

// FuzzFind: the pass over the dashes that lets Find stop early never
// hides a marker that a search for each finds.
func FuzzFind(f *testing.F) {
	f.Add([]byte("x " + fakeAgeKey + "Q"))
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
	f.Add([]byte("AGE-PLUGIN-YUBIKEY-1"))
	f.Add([]byte("PuTTY-User-Key-File-3: ssh-ed25519"))
	f.Fuzz(func(t *testing.T, data []byte) {
		any := false
		for _, m := range markers {
			any = any || bytes.Contains(data, m.needle)
		}
		if mayHold(data) != any {
			t.Fatalf("mayHold(%q) = %v, a search for each marker says %v", data, !any, any)
		}
	})
}
