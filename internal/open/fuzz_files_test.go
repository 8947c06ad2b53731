package open

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// FuzzSiteFiles feeds the reader hostile keyrings and packets: a keyring
// file of arbitrary bytes, a keyring that decrypts to arbitrary text, and a
// packet that decrypts to arbitrary HTML (placeholders included). The
// reader must neither panic nor read outside the site, and must fail or
// refuse cleanly.
func FuzzSiteFiles(f *testing.F) {
	reader, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	audience, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	seal := func(plain []byte, r age.Recipient) []byte {
		var b bytes.Buffer
		w, err := age.Encrypt(&b, r)
		if err != nil {
			f.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		return b.Bytes()
	}
	ring := []byte("# keyring\n" + audience.String() + "\n")
	seeds := []struct{ raw, ring, packet []byte }{
		{seal(ring, reader.Recipient()), ring, []byte("<p>Secret.</p>\n")},
		{nil, ring, []byte(`<section class="sealed" data-packet="packets/00000000000000000000000000000000.age">x</section>`)},
		{[]byte("age-encryption.org/v1\n-> X25519 AAAA\n--- AAAA\n"), []byte("AGE-SECRET-KEY-" + "1XYZ\n"), []byte(`<section class="sealed" data-packet="../../etc/passwd"></section>`)},
		{[]byte("garbage"), []byte("# nothing\n"), []byte(`<section class="sealed" data-packet="packets/` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `.age">`)},
		{nil, []byte(""), bytes.Repeat([]byte(`<section class="sealed`), 50)},
	}
	for _, s := range seeds {
		f.Add(s.raw, s.ring, s.packet)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, raw, ringPlain, packetPlain []byte) {
		dir := t.TempDir()
		keyrings := filepath.Join(dir, "packets", "keyrings")
		if err := os.MkdirAll(keyrings, 0o755); err != nil {
			t.Fatal(err)
		}
		write := func(name string, data []byte) {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(filepath.Join(keyrings, "00000000000000000000000000000001.age"), raw)
		write(filepath.Join(keyrings, "00000000000000000000000000000002.age"), seal(ringPlain, reader.Recipient()))
		const packet = "packets/00000000000000000000000000000000.age"
		write(filepath.Join(dir, filepath.FromSlash(packet)), seal(packetPlain, audience.Recipient()))

		r, err := NewReader(dir, []age.Identity{reader}, nil)
		if err != nil {
			return // refused cleanly
		}
		defer r.Close()
		plain, ok, err := r.Packet(packet)
		if err == nil && ok && !bytes.Equal(bytes.TrimRight(plain, "\n"), bytes.TrimRight(packetPlain, "\n")) {
			t.Fatalf("packet decrypted to %q, want %q", plain, packetPlain)
		}
		page := []byte(`<p>x</p><section class="sealed" data-packet="` + packet + `"><p>y</p></section>`)
		r.Unseal(page)
	})
}
