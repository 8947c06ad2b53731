package seal

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/tag"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// sshKey is an SSH key pair of a test recipient: its public key line,
// its age identity, and its private key in OpenSSH's format, for the
// age CLI.
type sshKey struct {
	line    string
	id      age.Identity
	private []byte
}

func newSSHKey(t testing.TB, rsaBits int) sshKey {
	t.Helper()
	var (
		pub, priv any
		id        age.Identity
		err       error
	)
	if rsaBits == 0 {
		edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = edPub, edPriv
		id, err = agessh.NewEd25519Identity(edPriv)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		keys, err := rsaKeys()
		if err != nil {
			t.Fatal(err)
		}
		k := keys[rsaBits]
		pub, priv = &k.PublicKey, k
		if id, err = agessh.NewRSAIdentity(k); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return sshKey{line: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), id: id, private: pem.EncodeToMemory(block)}
}

// tagKey returns a tagged P-256 recipient (age1tag1…), whose identity
// lives in hardware: the tests check its keyring's size, not its opening.
func tagKey(t testing.TB) string {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw := k.PublicKey().Bytes()
	x, y := new(big.Int).SetBytes(raw[1:33]), new(big.Int).SetBytes(raw[33:])
	r, err := tag.NewClassicRecipient(elliptic.MarshalCompressed(elliptic.P256(), x, y))
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

// mixedPerson is a test recipient with keys of any kinds: lines of a .pub
// file, parsed as a build does, with the identities of those that have
// one here, by line.
type mixedPerson struct {
	*person
	byLine map[int]age.Identity
	ssh    map[int][]byte // OpenSSH private keys by line
}

// rsaKeys are RSA keys of 2048, 3072 and 4096 bits, made once per test
// binary (a 4096-bit key takes a while).
var rsaKeys = sync.OnceValues(func() (map[int]*rsa.PrivateKey, error) {
	out := map[int]*rsa.PrivateKey{}
	for _, bits := range []int{2048, 3072, 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		out[bits] = k
	}
	return out, nil
})

// mixed returns recipients with every kind of key and of set of keys, so
// that their keyrings' headers differ as much as they can, and their
// registry, with the groups everyone and some.
func mixed(t *testing.T) (map[string]*mixedPerson, *audience.Registry) {
	t.Helper()
	ps := map[string]*mixedPerson{}
	add := func(name string, pass string, lines ...any) {
		var text strings.Builder
		mp := &mixedPerson{byLine: map[int]age.Identity{}, ssh: map[int][]byte{}}
		for i, l := range lines {
			n := i + 1
			switch l := l.(type) {
			case *age.X25519Identity:
				text.WriteString(l.Recipient().String() + "\n")
				mp.byLine[n] = l
			case *age.HybridIdentity:
				text.WriteString(l.Recipient().String() + "\n")
				mp.byLine[n] = l
			case sshKey:
				text.WriteString(l.line + " " + name + "@host\n")
				mp.byLine[n], mp.ssh[n] = l.id, l.private
			case string: // a key without an identity here, or a passphrase
				text.WriteString(l + "\n")
				if l == "passphrase env:PASS" {
					id, err := age.NewScryptIdentity(pass)
					if err != nil {
						t.Fatal(err)
					}
					mp.byLine[n] = id
				}
			}
		}
		keys := passphraseKeys(t, text.String(), map[string]string{"PASS": pass})
		mp.person = &person{name: name, keys: keys}
		for _, k := range keys {
			if id := mp.byLine[k.Line]; id != nil {
				mp.ids = append(mp.ids, id)
			}
		}
		ps[name] = mp
	}
	x := func() *age.X25519Identity {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	pq := func() *age.HybridIdentity {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	add("xena", "", x())
	add("xavier", "", x(), x(), x())
	add("quinn", "", pq())
	add("quentin", "", pq(), pq(), pq())
	add("sally", "", newSSHKey(t, 0))
	add("rita", "", newSSHKey(t, 2048))
	add("ronald", "", newSSHKey(t, 4096))
	add("mixer", "", x(), newSSHKey(t, 0), newSSHKey(t, 3072))
	add("both", "", x(), pq())
	add("tagger", "", tagKey(t))
	add("guest", "guest passphrase, long enough", "passphrase env:PASS")
	add("hybrid", "vendor passphrase, long enough", newSSHKey(t, 0), pq(), "passphrase env:PASS")

	all := people{}
	for n, p := range ps {
		all[n] = p.person
	}
	names := slices.Sorted(maps.Keys(ps))
	groups := fmt.Sprintf("everyone = [\"%s\"]\nsome = [\"xena\", \"quinn\", \"sally\", \"guest\"]\n", strings.Join(names, `", "`))
	return ps, registry(t, all, groups)
}

// mixedPages restrict passages to audiences of every size, so that
// readers belong to 1 to 5 audiences.
func mixedPages() []*site.Page {
	return []*site.Page{
		page("content/all.md", "::: restricted to=everyone\nFor everyone, secret A.\n:::\n"),
		page("content/some.md", "::: restricted to=some\nFor some, secret B.\n:::\n\n::: restricted to=xena,ronald\nTwo, secret C.\n:::\n"),
		labelled(page("content/red.md", "::: restricted to=xena tlp=red\nXena, secret D.\n:::\n\n::: restricted to=xena,quentin tlp=red\nX and Q, secret E.\n:::\n\n"+
			"::: restricted to=xena,hybrid,guest tlp=red\nThree, secret F.\n:::\n"), tlp.Red),
	}
}

// Every keyring of a build has the same size, whatever its reader's
// keys (X25519, post-quantum, SSH Ed25519 and RSA of two sizes, tagged,
// passphrase, several at once) and audiences; each still opens with each
// of its reader's keys, alone, and holds exactly the keys of its reader's
// audiences, with padding that age reads as comments in short lines.
func TestKeyringsEqualSize(t *testing.T) {
	ps, reg := mixed(t)
	b := sealBuild(t, reg, nil, mixedPages()...)
	rings := b.out.under(format.KeyringDir)
	sizes := map[int][]string{}
	for path, ct := range rings {
		sizes[len(ct)] = append(sizes[len(ct)], path)
	}
	if len(sizes) != 1 {
		t.Fatalf("keyrings of %d sizes: %v", len(sizes), slices.Sorted(maps.Keys(sizes)))
	}
	size := len(rings[slices.Collect(maps.Keys(rings))[0]])
	// The index holds the same keyrings.
	var index format.Keyrings
	if err := json.Unmarshal(b.out.files[format.KeyringIndex], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Keyrings) != len(rings) {
		t.Fatalf("%d keyrings in the index, %d written", len(index.Keyrings), len(rings))
	}
	for _, k := range index.Keyrings {
		if len(k.Data) != size || !bytes.Equal(k.Data, rings[format.KeyringDir+"/"+k.Name]) {
			t.Errorf("index entry %s: %d bytes, not the keyring written", k.Name, len(k.Data))
		}
	}
	// Which header each keyring has: the sizes did differ before padding.
	heads := map[int]bool{}
	for _, ct := range rings {
		heads[bytes.Index(ct, []byte("\n--- "))] = true
	}
	if len(heads) < 6 {
		t.Errorf("only %d sizes of header: the test does not mix enough kinds of keys", len(heads))
	}

	want := map[string][]string{}
	for _, a := range b.plan.Audiences() {
		for _, m := range a.Members {
			want[m] = append(want[m], identityString(b.sealer.ids[a.ID]))
		}
	}
	sets := 0
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		p := ps[name]
		slices.Sort(want[name])
		if len(want[name]) == 0 {
			t.Fatalf("%s is in no audience", name)
		}
		sets += len(splitKeys(p.keys))
		for i, id := range p.ids {
			var opens []string
			for path, ct := range rings {
				pt, err := decrypt(t, ct, id)
				if err != nil {
					continue
				}
				opens = append(opens, path)
				if got := identityStrings(t, pt); !slices.Equal(got, want[name]) {
					t.Errorf("%s's keyring holds %d keys, want the %d of their audiences", name, len(got), len(want[name]))
				}
				checkKeyringText(t, name, pt)
			}
			if len(opens) != 1 {
				t.Errorf("%s's identity %d opens %d keyrings, want 1", name, i, len(opens))
			}
		}
	}
	if len(rings) != sets {
		t.Errorf("%d keyrings for %d sets of keys", len(rings), sets)
	}
	if st := b.sealer.Stats(); st.Keyrings != sets || st.Recipients != len(ps) {
		t.Errorf("stats %+v, want %d keyrings for %d recipients", st, sets, len(ps))
	}
	if size < chunkSize && padmeSize(size) != size {
		// Below a chunk, every size reaches every header: the size is
		// Padmé's of the largest keyring.
		t.Errorf("keyrings of %d bytes: not a Padmé size", size)
	}
	t.Logf("%d keyrings of %d bytes, %d sizes of header", len(rings), size, len(heads))
}

// checkKeyringText checks that a keyring is an identity file whose lines
// are all short, and are identities, comments or empty.
func checkKeyringText(t *testing.T, name string, pt []byte) {
	t.Helper()
	if !bytes.HasSuffix(pt, []byte("\n")) {
		t.Errorf("%s's keyring does not end with a newline", name)
	}
	sc := bufio.NewScanner(bytes.NewReader(pt))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if len(l) >= 80 {
			t.Errorf("%s's keyring: line %d has %d characters", name, n, len(l))
		}
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, secretKeyPrefix+"-") {
			t.Errorf("%s's keyring: line %d is %.20q…", name, n, l)
		}
	}
}

// Keyrings that take more than one of age's 64 KiB chunks, for a reader
// of hundreds of audiences, are the same size too, and whole.
func TestKeyringsLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("seals 900 passages")
	}
	ps := people{"alice": fixturePeople(t)["alice"]}
	var others []string
	for i := range 45 {
		n := fmt.Sprintf("r%02d", i)
		ps[n] = newPerson(t, n, i%9 == 0)
		others = append(others, n)
	}
	ps["sally"] = &person{name: "sally", keys: passphraseKeys(t, newSSHKey(t, 0).line+"\n", nil)}
	var body strings.Builder
	blocks := 0
	for i := 0; i < len(others) && blocks < 900; i++ {
		for j := i + 1; j < len(others) && blocks < 900; j++ {
			fmt.Fprintf(&body, "::: restricted to=alice,%s,%s\nPassage %d.\n:::\n\n", others[i], others[j], blocks)
			blocks++
		}
	}
	body.WriteString("::: restricted to=sally\nSally's.\n:::\n")
	b := sealBuild(t, registry(t, ps, ""), nil, page("content/many.md", body.String()))
	rings := b.out.under(format.KeyringDir)
	size := -1
	for _, ct := range rings {
		if size != -1 && len(ct) != size {
			t.Fatalf("keyrings of %d and %d bytes", size, len(ct))
		}
		size = len(ct)
	}
	if size <= chunkSize {
		t.Fatalf("keyrings of %d bytes: alice's should take more than one chunk", size)
	}
	var aliceRing []byte
	for _, ct := range rings {
		if pt, err := decrypt(t, ct, ps["alice"].ids...); err == nil {
			aliceRing = pt
		}
	}
	if n := len(identityStrings(t, aliceRing)); n != 900 {
		t.Errorf("alice's keyring holds %d keys, want 900", n)
	}
	checkKeyringText(t, "alice", aliceRing)
	t.Logf("%d keyrings of %d bytes", len(rings), size)
}

// Two builds of the same site, with the cache, publish entirely different
// keyrings: new names, new bytes, not one in common, and the same size.
func TestKeyringsAnew(t *testing.T) {
	_, reg := mixed(t)
	dir := t.TempDir()
	first := sealBuild(t, reg, openCache(t, dir, testKey(1)), mixedPages()...)
	if err := first.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	second := sealBuild(t, reg, openCache(t, dir, testKey(1)), mixedPages()...)
	r1, r2 := first.out.under(format.KeyringDir), second.out.under(format.KeyringDir)
	if len(r1) != len(r2) || len(r1) == 0 {
		t.Fatalf("%d keyrings, then %d", len(r1), len(r2))
	}
	checkAllNew(t, r1, r2)
	if bytes.Equal(first.out.files[format.KeyringIndex], second.out.files[format.KeyringIndex]) {
		t.Errorf("the keyring index did not change")
	}
	// The packets, unchanged, kept their bytes.
	if !maps.EqualFunc(packetFiles(first), packetFiles(second), bytes.Equal) {
		t.Errorf("the packets changed with the cache")
	}
}

// checkAllNew checks that no keyring of a second build has the name, the
// MAC or the last bytes of one of the first's: each is encrypted anew,
// header and payload. Within each build, keyrings have one size.
func checkAllNew(t *testing.T, first, second map[string][]byte) {
	t.Helper()
	for _, build := range []map[string][]byte{first, second} {
		size := -1
		for p, ct := range build {
			if size != -1 && len(ct) != size {
				t.Errorf("%s: %d bytes, beside keyrings of %d", p, len(ct), size)
			}
			size = len(ct)
		}
	}
	mac := func(ct []byte) []byte {
		i := bytes.Index(ct, []byte("\n--- "))
		return ct[i : i+48]
	}
	for p2, ct2 := range second {
		if _, ok := first[p2]; ok {
			t.Errorf("%s was published by both builds", p2)
		}
		for _, ct1 := range first {
			if bytes.Equal(mac(ct1), mac(ct2)) || bytes.Contains(ct1, ct2[len(ct2)-32:]) {
				t.Errorf("%s shares bytes with a keyring of the first build", p2)
			}
		}
	}
}

func TestStreamSize(t *testing.T) {
	for _, tc := range []struct{ p, want int }{
		{0, 16}, {1, 17}, {chunkSize, chunkSize + 16}, {chunkSize + 1, chunkSize + 33}, {2 * chunkSize, 2*chunkSize + 32}, {2*chunkSize + 1, 2*chunkSize + 49},
	} {
		if got := streamSize(tc.p); got != tc.want {
			t.Errorf("streamSize(%d) = %d, want %d", tc.p, got, tc.want)
		}
	}
	// streamPlaintext inverts streamSize, and finds no plaintext for
	// the 16 sizes after each full chunk.
	reached := map[int]bool{}
	for p := range 3*chunkSize + 10 {
		n := streamSize(p)
		reached[n] = true
		if got, ok := streamPlaintext(n); !ok || got != p {
			t.Fatalf("streamPlaintext(%d) = %d, %t; want %d", n, got, ok, p)
		}
	}
	gaps := 0
	for n := range streamSize(3*chunkSize) + 1 {
		if _, ok := streamPlaintext(n); ok != reached[n] {
			t.Fatalf("streamPlaintext(%d): %t, but streamSize reaches it: %t", n, ok, reached[n])
		}
		if !reached[n] && n >= 16 {
			gaps++
		}
	}
	if gaps != 2*16 {
		t.Errorf("%d sizes out of reach up to three chunks, want 32", gaps)
	}
	// Real age files have those sizes.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	header := 0
	for _, p := range []int{0, 1, 100, chunkSize - 1, chunkSize, chunkSize + 1, 2*chunkSize + 5} {
		ct, err := encrypt(make([]byte, p), id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		h := len(ct) - streamSize(p)
		if header == 0 {
			header = h
		}
		if h != header {
			t.Errorf("%d bytes of plaintext: %d bytes of age file, not %d + streamSize", p, len(ct), header)
		}
	}
}

func TestKeyringSize(t *testing.T) {
	// One header: Padmé's size of the largest keyring.
	if got, ok := keyringSize([]int{200, 200}, 1000, 100); !ok || got != padmeSize(1000) {
		t.Errorf("keyringSize = %d, %t; want %d", got, ok, padmeSize(1000))
	}
	// Sizes in the gap after a full chunk for some header are skipped:
	// here the Padmé size minus header 200 is in the gap.
	h := 200
	need := h + chunkSize + 16 + 1 // one byte into the gap
	start := padmeSize(need)
	heads := []int{start - (chunkSize + 16 + 1), 300}
	got, ok := keyringSize(heads, need, 100)
	if !ok {
		t.Fatal("no size found")
	}
	for _, h := range heads {
		if _, ok := streamPlaintext(got - h); !ok || got < start {
			t.Errorf("size %d: header %d cannot reach it, or it is below %d", got, h, start)
		}
	}
	if got != start+16 {
		t.Errorf("size = %d, want %d: the first after the gap", got, start+16)
	}
	// No size within the limit: refused.
	if _, ok := keyringSize(heads, need, 10); ok {
		t.Errorf("a size was found within the gap")
	}
}

// Unequal keyrings are refused, each named at its recipient's key.
func TestCheckSizes(t *testing.T) {
	job := func(name string, n int) *keyringJob {
		return &keyringJob{rec: &audience.Recipient{Name: name, File: "keys/" + name + ".pub"}, keys: []audience.Key{{Line: 2}}, ct: make([]byte, n)}
	}
	if err := checkSizes([]*keyringJob{job("a", 500), job("b", 500)}, 500); err != nil {
		t.Errorf("equal sizes: %v", err)
	}
	err := checkSizes([]*keyringJob{job("a", 500), job("b", 501)}, 500)
	var list diag.List
	if !errors.As(err, &list) || len(list) != 1 || err.Error() != "keys/b.pub:2: b's keyring is 501 bytes, not the 500 of every keyring: keyrings of one size could not be made, and unequal ones are never published (a bug in conclave)" {
		t.Errorf("unequal sizes: %v", err)
	}
}

func TestWritePadding(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for n := range 400 {
		var b bytes.Buffer
		if err := writePadding(&b, n); err != nil {
			t.Fatal(err)
		}
		if b.Len() != n {
			t.Fatalf("writePadding(%d) wrote %d bytes", n, b.Len())
		}
		if n == 0 {
			continue
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
			t.Errorf("writePadding(%d) does not end a line", n)
		}
		for _, l := range strings.SplitAfter(b.String(), "\n") {
			if len(l) > paddingLine || l != "" && l != "\n" && !strings.HasPrefix(l, "#") {
				t.Errorf("writePadding(%d): line %q", n, l)
			}
		}
		// age reads the keys of a keyring, padding and all.
		ids, err := age.ParseIdentities(strings.NewReader("# keyring\n" + id.String() + "\n" + b.String()))
		if err != nil || len(ids) != 1 {
			t.Errorf("writePadding(%d): %d identities, %v", n, len(ids), err)
		}
	}
}

// packetFiles returns the packets a build emitted, without the keyring
// index.
func packetFiles(b *build) map[string][]byte {
	out := b.out.under(format.PacketDir)
	delete(out, format.KeyringIndex)
	return out
}
