// Package secret recognises private key material that must never be
// published: age identities, PEM private key blocks (RSA, EC, PKCS#8,
// OpenSSH, and cosign's encrypted Sigstore keys), OpenPGP secret key blocks
// and PuTTY key files. Keys in binary (DER) form are not recognised.
package secret

import (
	"bytes"
	"io"
)

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
	if !mayHold(data) {
		return 0, "", false
	}
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

// mayHold reports whether data may hold a marker: whether any of them
// occurs at all. Every marker has a '-', so one pass over the '-' of data
// checks them all, where a search per marker made five passes; most data
// holds none, and Find then stops here.
func mayHold(data []byte) bool {
	for off := 0; ; {
		i := bytes.IndexByte(data[off:], '-')
		if i < 0 {
			return false
		}
		p := off + i
		for _, m := range markers {
			if start := p - bytes.IndexByte(m.needle, '-'); start >= 0 && bytes.HasPrefix(data[start:], m.needle) {
				return true
			}
		}
		off = p + 1
	}
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

// Chunks reads r in chunks of whole lines of about size bytes and calls
// fn with each and the 1-based number of its first line, until fn returns
// false or r ends. A line longer than size is cut (at size bytes) into
// chunks of its own. It holds one chunk at a time, for files too large to
// read whole.
func Chunks(r io.Reader, size int, fn func(chunk []byte, line int) bool) error {
	buf := make([]byte, size)
	n, line := 0, 1 // bytes held; number of buf's first line
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		end := n
		if err == nil {
			if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
				end = i + 1
			}
		} else if err != io.EOF && err != io.ErrUnexpectedEOF {
			return err
		}
		if end > 0 && !fn(buf[:end], line) {
			return nil
		}
		line += bytes.Count(buf[:end], []byte("\n"))
		n = copy(buf, buf[end:n])
		if err != nil {
			return nil
		}
	}
}
