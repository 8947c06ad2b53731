package secret

import "testing"

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
