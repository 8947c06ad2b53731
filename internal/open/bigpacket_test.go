package open

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestLargePacketDecryptedOnce: a large packet is decrypted as it is read,
// into one buffer of its size, its ciphertext never held whole: a 60 MiB
// packet took 248 MiB of allocations (and 251 MiB of memory in open),
// now 120 MiB (153 MiB): the plaintext, and the 64 KiB chunks age
// decrypts into, which are garbage at once. The same holds for one packet
// opened alone (open FILE.age).
func TestLargePacketDecryptedOnce(t *testing.T) {
	const size = 16 << 20
	h := newHostile(t)
	html := "<p>" + strings.Repeat("x", size) + "</p>\n"
	p := h.forge(t, strings.Repeat("ab", 16), html)
	h.setPacket(t, p)
	bound := uint64(size)*2 + 2<<20
	t.Run("site", func(t *testing.T) {
		r, err := NewReader(h.site, h.ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var plain []byte
		testtool.BoundedAllocNoHang(t, bound, func() { plain, _, err = r.Packet(p) })
		if err != nil || string(plain) != html {
			t.Errorf("Packet: %d bytes, %v", len(plain), err)
		}
	})
	t.Run("file", func(t *testing.T) {
		var plain []byte
		var err error
		testtool.BoundedAllocNoHang(t, bound, func() { plain, _, err = File(filepath.Join(h.site, filepath.FromSlash(p)), h.ids, nil) })
		if err != nil || string(plain) != html {
			t.Errorf("File: %d bytes, %v", len(plain), err)
		}
	})
	t.Run("changed", func(t *testing.T) {
		// Checked against the verified manifest once read to its end:
		// a packet that is not the listed one yields nothing.
		plain, _, err := File(filepath.Join(h.site, filepath.FromSlash(p)), h.ids, Sums{p: {1}})
		if plain != nil || err == nil || !strings.Contains(err.Error(), ErrChanged.Error()) {
			t.Errorf("changed packet: %d bytes, %v", len(plain), err)
		}
	})
}
