package bech32

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"filippo.io/age"
)

// The valid test vectors of BIP-173: decoded to values and encoded again.
func TestVectors(t *testing.T) {
	for _, s := range []string{
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	} {
		hrp, values, err := decode(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got := encode(hrp, values); got != strings.ToLower(s) {
			t.Errorf("encode(%q, …) = %q, want %q", hrp, got, strings.ToLower(s))
		}
	}
	// Segwit addresses of BIP-173: version 0, then the program in 5-bit groups.
	for _, c := range []struct{ addr, program string }{
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "751e76e8199196d454941c45d1b3a323f1433bd6"},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "1863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"},
	} {
		prog, err := hex.DecodeString(c.program)
		if err != nil {
			t.Fatal(err)
		}
		hrp, _, err := decode(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := encode(hrp, append([]byte{0}, toValues(prog)...)); got != strings.ToLower(c.addr) {
			t.Errorf("address of %s = %q, want %q", c.program, got, strings.ToLower(c.addr))
		}
	}
}

// The invalid test vectors of BIP-173, and strings that are not Bech32
// of whole bytes.
func TestDecodeRefuses(t *testing.T) {
	for _, s := range []string{
		"\x201nwldj5", "\x7f1axkwrx", "\x801eym55h", "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "de1lg7wt\xff",
		"A1G7SGD8", "10a06t8", "1qzzfhee",
		"A12uEL5L", // mixed case
		"a1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx",
		encode("age", []byte{31}),      // 5 bits: no whole byte
		encode("age", []byte{31, 31}),  // a byte, and two bits of padding that are not zero
		encode("age", []byte{0, 0, 0}), // a byte, and 7 bits of padding
	} {
		if hrp, data, err := Decode(s); err == nil {
			t.Errorf("%q decoded to %q %x", s, hrp, data)
		}
	}
}

// Keys made by age decode to 32 bytes and encode back; random data makes
// the round trip too.
func TestAgeKeys(t *testing.T) {
	for range 20 {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{id.String(), id.Recipient().String()} {
			hrp, data, err := Decode(s)
			if err != nil || len(data) != 32 {
				t.Fatalf("%s: %q %x %v", s, hrp, data, err)
			}
			got := Encode(hrp, data)
			if strings.ToUpper(s) == s {
				got = strings.ToUpper(got)
			}
			if got != s {
				t.Errorf("re-encoded %q as %q", s, got)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 80 {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		hrp, got, err := Decode(Encode("Age-Secret-Key-", data))
		if err != nil || hrp != "age-secret-key-" || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: %q %x %v, want %x", n, hrp, got, err, data)
		}
	}
}

func FuzzDecode(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	for _, s := range []string{id.String(), id.Recipient().String(), "a12uel5l", "A1G7SGD8", "1qzzfhee", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hrp, data, err := Decode(s)
		if err != nil {
			return
		}
		if got := Encode(hrp, data); got != strings.ToLower(s) {
			t.Fatalf("%q decodes to %q %x, which encodes to %q", s, hrp, data, got)
		}
	})
}
