package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"filippo.io/age"
	"filippo.io/edwards25519"
	"golang.org/x/crypto/curve25519"
)

// The Edwards form gives the ladder's share, for random scalars and for
// the edges (a scalar of zeros, of ones, one that clamping changes).
func TestBaseShareIsTheLadders(t *testing.T) {
	scalars := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32), append([]byte{7}, make([]byte, 31)...)}
	for range 300 {
		e := make([]byte, 32)
		rand.Read(e)
		scalars = append(scalars, e)
	}
	for _, e := range scalars {
		want, err := curve25519.X25519(e, curve25519.Basepoint)
		if err != nil {
			t.Fatal(err)
		}
		got, err := baseShare(e)
		if err != nil || !bytes.Equal(got[:], want) {
			t.Fatalf("scalar %x: share %x (%v), want %x", e, got, err, want)
		}
	}
}

// newAudienceRecipient returns a new X25519 identity and its audience
// recipient.
func newAudienceRecipient(t testing.TB) (*age.X25519Identity, *audienceRecipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r, err := fastRecipient(id)
	if err != nil {
		t.Fatal(err)
	}
	ar, ok := r.(*audienceRecipient)
	if !ok {
		t.Fatalf("fastRecipient = %T, want an audience recipient", r)
	}
	return id, ar
}

// An audience recipient's stanza is age's: age's identity unwraps it, and
// its shape is that of age's own recipient's stanza. Each wrap has its
// own ephemeral share.
func TestAudienceRecipientIsAges(t *testing.T) {
	for range 50 {
		id, r := newAudienceRecipient(t)
		if r.String() != id.Recipient().String() {
			t.Fatalf("fastRecipient = %v, want the audience recipient of %s", r, id.Recipient())
		}
		key := make([]byte, 16)
		rand.Read(key)
		got, err := r.Wrap(key)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := id.Recipient().Wrap(key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Type != theirs[0].Type || len(got[0].Args) != 1 || len(got[0].Args[0]) != len(theirs[0].Args[0]) || len(got[0].Body) != len(theirs[0].Body) {
			t.Fatalf("stanza %+v, age's %+v", got[0], theirs[0])
		}
		if _, err := base64.RawStdEncoding.Strict().DecodeString(got[0].Args[0]); err != nil {
			t.Fatalf("share %q: %v", got[0].Args[0], err)
		}
		unwrapped, err := id.Unwrap(got)
		if err != nil || !bytes.Equal(unwrapped, key) {
			t.Fatalf("age unwraps %x (%v), want %x", unwrapped, err, key)
		}
		again, _ := r.Wrap(key)
		if again[0].Args[0] == got[0].Args[0] || bytes.Equal(again[0].Body, got[0].Body) {
			t.Fatal("two wraps share an ephemeral share")
		}
		// A whole file, through age.
		var ct bytes.Buffer
		if err := encryptTo(&ct, []byte("packet text"), r); err != nil {
			t.Fatal(err)
		}
		if plain, err := decrypt(t, ct.Bytes(), id); err != nil || string(plain) != "packet text" {
			t.Fatalf("age decrypts %q (%v)", plain, err)
		}
	}
	// Other identities keep their own recipient.
	hy, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := fastRecipient(hy); r != nil || err != nil {
		t.Errorf("fastRecipient(hybrid) = %v, %v; want nil, nil", r, err)
	}
}

// The shared secret on the Edwards form is the ladder's, for random
// audience keys and ephemeral scalars, and for the edges.
func TestSharedSecretIsTheLadders(t *testing.T) {
	for range 100 {
		id, ar := newAudienceRecipient(t)
		scalars := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)}
		for range 3 {
			e := make([]byte, 32)
			rand.Read(e)
			scalars = append(scalars, e)
		}
		for _, e := range scalars {
			want, err := curve25519.X25519(e, ar.pub[:])
			if err != nil {
				t.Fatal(err)
			}
			s, err := edwards25519.NewScalar().SetBytesWithClamping(e)
			if err != nil {
				t.Fatal(err)
			}
			if got := new(edwards25519.Point).ScalarMult(s, ar.point).BytesMontgomery(); !bytes.Equal(got, want) {
				t.Fatalf("key %s, scalar %x: secret %x, want %x", id.Recipient(), e, got, want)
			}
		}
	}
}

// A point with no Edwards point of its own (on the twist) is refused, and
// one that has maps back to itself.
func TestEdwardsPoint(t *testing.T) {
	refused, taken := 0, 0
	for u := byte(2); u < 60; u++ {
		p, err := edwardsPoint([32]byte{u})
		if err != nil {
			refused++
			continue
		}
		taken++
		if got := p.BytesMontgomery(); !bytes.Equal(got, append([]byte{u}, make([]byte, 31)...)) {
			t.Errorf("u=%d maps back to %x", u, got)
		}
	}
	if refused == 0 || taken == 0 {
		t.Errorf("%d refused, %d taken: want both", refused, taken)
	}
}

// A point of low order gives a shared secret of zeros, which the wrap
// refuses, as age does.
func TestAudienceRecipientRefusesLowOrder(t *testing.T) {
	r := &audienceRecipient{point: edwards25519.NewIdentityPoint(), text: "age1low"}
	if _, err := r.Wrap(make([]byte, 16)); err == nil {
		t.Error("wrapped to the neutral point")
	}
}

// BenchmarkWrap wraps a file key to an audience key, by age's recipient
// and by the audience recipient (docs/benchmarks.md).
func BenchmarkWrap(b *testing.B) {
	id, fast := newAudienceRecipient(b)
	key := make([]byte, 16)
	for _, r := range []struct {
		name string
		r    age.Recipient
	}{{"age", id.Recipient()}, {"audience", fast}} {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.r.Wrap(key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
