// Package secret recognises private key material that must never be
// published: age identities, PEM private key blocks (RSA, EC, PKCS#8,
// OpenSSH, and cosign's encrypted Sigstore keys), OpenPGP secret key blocks
// and PuTTY key files. Keys in binary (DER) form are not recognised.
package secret

import "bytes"

var markers = []struct {
	needle []byte
	what   string
}{
	{[]byte("AGE-SECRET-KEY-"), "an age secret key"},
	{[]byte("AGE-PLUGIN-"), "an age plugin identity"},
	{[]byte("PRIVATE KEY-----"), "a PEM private key block"},
	{[]byte("-----BEGIN PGP PRIVATE KEY BLOCK-----"), "an OpenPGP private key block"},
	{[]byte("PuTTY-User-Key-File-"), "a PuTTY private key"},
}

// Find reports the first secret in data: the 1-based line it starts on and
// a description such as "an age secret key". ok is false if there is none.
//
// It matches case-sensitively, as the formats are written; age encodes
// identities in upper case, and "AGE-PLUGIN-" covers plugin identities.
func Find(data []byte) (line int, what string, ok bool) {
	first := -1
	for _, m := range markers {
		i := bytes.Index(data, m.needle)
		if i < 0 {
			continue
		}
		if m.what == "a PEM private key block" {
			// Only the header line counts: "-----BEGIN … PRIVATE KEY-----".
			start := bytes.LastIndexByte(data[:i], '\n') + 1
			if !bytes.HasPrefix(data[start:], []byte("-----BEGIN ")) {
				// Keep looking for a real header further on.
				j := findPEMHeader(data)
				if j < 0 {
					continue
				}
				i = j
			} else {
				i = start
			}
		}
		if first < 0 || i < first {
			first, what = i, m.what
		}
	}
	if first < 0 {
		return 0, "", false
	}
	return bytes.Count(data[:first], []byte("\n")) + 1, what, true
}

func findPEMHeader(data []byte) int {
	off := 0
	for {
		i := bytes.Index(data[off:], []byte("-----BEGIN "))
		if i < 0 {
			return -1
		}
		i += off
		end := bytes.IndexByte(data[i:], '\n')
		lineEnd := len(data)
		if end >= 0 {
			lineEnd = i + end
		}
		if bytes.Contains(data[i:lineEnd], []byte("PRIVATE KEY-----")) {
			return i
		}
		off = i + 1
	}
}
