package open

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/manifest"
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

// TestUnverifiedCopyLimits: a copy opened without verification
// (--insecure-skip-verify) is held to the limits verify would have
// checked: a sparse file past manifest.MaxFile is not written out (10 GiB
// were), and folders nested past manifest.MaxDepth are not followed (5,000
// took 27 s and ended in "file name too long"); each is reported, and the
// rest of the site is opened.
func TestUnverifiedCopyLimits(t *testing.T) {
	h := newHostile(t)
	testtool.SparseFile(t, filepath.Join(h.site, "huge.pdf"), manifest.MaxFile+1)
	if err := os.WriteFile(filepath.Join(h.site, "a\x1b[2Jb.html"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(h.site, filepath.FromSlash(strings.Repeat("d/", 200)))
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	var rep *Report
	var err error
	testtool.BoundedAllocNoHang(t, 8<<20, func() { rep, err = Site(h.site, out, h.ids, nil) })
	var inc *IncompleteError
	if !errors.As(err, &inc) {
		t.Fatalf("Site: %v", err)
	}
	text := problemText(h.site, rep.Problems)
	for _, want := range []string{
		"huge.pdf: not copied: too large: 268435457 bytes",
		strings.Repeat("d/", 31) + "d: not copied: its path is more than 31 folders deep",
		`"a\x1b[2Jb.html": not copied: unsafe file name`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("problems:\n%s\nwant %q", text, want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "huge.pdf")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("huge.pdf was copied: %v", err)
	}
	if !containsAll(readFile(t, filepath.Join(out, "briefings", "x", "index.html")), "BOARD") {
		t.Error("the rest of the site was not opened")
	}
}

// TestPacketStanzasBound: a packet of more recipient stanzas than the
// build writes (one) is refused before any key is tried on it: every key
// of the reader's keyrings would be tried on each stanza.
func TestPacketStanzasBound(t *testing.T) {
	h := newHostile(t)
	data := encryptTo(t, "<p>FORGED-WIDE</p>\n", append(randomRecipients(t, 63), h.aud.(*age.X25519Recipient).String())...)
	p := "packets/" + strings.Repeat("cd", 16) + ".age"
	if err := os.WriteFile(filepath.Join(h.site, p), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(h.site, h.ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	plain, ok, err := r.Packet(p)
	if plain != nil || ok || err == nil || !strings.Contains(err.Error(), "64 recipient stanzas where conclave writes at most 1: refused") {
		t.Errorf("Packet: %q, %t, %v", plain, ok, err)
	}
}

// TestStanzaLimitsMatchTheBuild: a keyring has at most one stanza for each
// key of its recipient, as many as the build allows a recipient; one of
// more is refused before the reader's keys are tried on it.
func TestStanzaLimitsMatchTheBuild(t *testing.T) {
	if maxKeyringStanzas != audience.MaxKeys {
		t.Errorf("maxKeyringStanzas = %d, audience.MaxKeys = %d", maxKeyringStanzas, audience.MaxKeys)
	}
	h := newHostile(t)
	data := encryptTo(t, "# a keyring\n", append(randomRecipients(t, maxKeyringStanzas), h.alice)...)
	name := strings.Repeat("ef", 16) + ".age"
	if err := os.WriteFile(filepath.Join(h.site, "packets", "keyrings", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	h.partialOpen(t, nil, "packets/keyrings/"+name+": keyring not opened: 65 recipient stanzas where conclave writes at most 64: refused (a hostile site?)")
}

// TestFileErrorNamesTheFile: a packet that fails to decrypt with the
// site's keyrings is named as the reader named it, site folder included.
func TestFileErrorNamesTheFile(t *testing.T) {
	h := newHostile(t)
	p := filepath.Join(h.site, filepath.FromSlash(h.board))
	data := readFile(t, p)
	data[len(data)-1] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := File(p, h.ids, nil)
	if err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("File: %v, want it to start with %s", err, p)
	}
}
