package corpus

import (
	"crypto/ecdh"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// secretPrefix is the human-readable part of an age X25519 identity. It is
// built from two parts so that no source file holds it in one piece: the
// project refuses files that do.
var secretPrefix = "AGE-SECRET-" + "KEY-"

// recipient is one reader of the corpus and its age X25519 key pair.
type recipient struct {
	name     string // r-0001
	public   string // age1…
	identity string // the upper-case secret key line
}

// group is a named set of recipients, or of groups for "members".
type group struct {
	name    string
	members []string // sorted
}

// keyring is every recipient and group of a corpus.
type keyring struct {
	recipients []recipient
	groups     []group // g-01, g-02, …; then members
	expand     map[string][]string
}

// membersGroup is the group holding every other group.
const membersGroup = "members"

// newKeyring draws n key pairs, then the groups, from the keys stream of
// seed. The i-th key pair depends only on seed and i, not on n.
func newKeyring(seed int64, n int) *keyring {
	r := rand.New(rand.NewPCG(uint64(seed), streamKeys))
	k := &keyring{expand: map[string][]string{}}
	for i := range n {
		var scalar [32]byte
		for j := 0; j < 32; j += 8 {
			binary.LittleEndian.PutUint64(scalar[j:], r.Uint64())
		}
		priv, err := ecdh.X25519().NewPrivateKey(scalar[:])
		if err != nil {
			panic("corpus: " + err.Error()) // only for a key that is not 32 bytes
		}
		name := fmt.Sprintf("r-%04d", i+1)
		k.recipients = append(k.recipients, recipient{
			name:     name,
			public:   bech32Encode("age", toBase32(priv.PublicKey().Bytes())),
			identity: strings.ToUpper(bech32Encode(secretPrefix, toBase32(scalar[:]))),
		})
		k.expand[name] = []string{name}
	}

	// About one group per 20 recipients: deal a shuffled deck of recipients
	// round the groups, then put about one recipient in seven in a second
	// group too.
	ng := max(1, (n+10)/20)
	sets := make([]map[int]bool, ng)
	for i := range sets {
		sets[i] = map[int]bool{}
	}
	for i, ri := range r.Perm(n) {
		sets[i%ng][ri] = true
	}
	for ri := range n {
		if ng > 1 && r.IntN(7) == 0 {
			first := 0
			for gi := range sets {
				if sets[gi][ri] {
					first = gi
					break
				}
			}
			sets[(first+1+r.IntN(ng-1))%ng][ri] = true
		}
	}
	var all []string
	for gi, set := range sets {
		g := group{name: fmt.Sprintf("g-%02d", gi+1)}
		for ri := range set {
			g.members = append(g.members, k.recipients[ri].name)
		}
		slices.Sort(g.members)
		k.groups = append(k.groups, g)
		k.expand[g.name] = g.members
		all = append(all, g.members...)
	}
	k.groups = append(k.groups, group{name: membersGroup, members: groupNames(k.groups)})
	slices.Sort(all)
	k.expand[membersGroup] = slices.Compact(all)
	return k
}

func groupNames(gs []group) []string {
	var names []string
	for _, g := range gs {
		names = append(names, g.name)
	}
	return names
}

// groupsFile returns keys/groups.toml.
func (k *keyring) groupsFile() []byte {
	var b strings.Builder
	b.WriteString("# Groups of the benchmark corpus's recipients; members holds every group.\n")
	for _, g := range k.groups {
		fmt.Fprintf(&b, "%s = [\"%s\"]\n", g.name, strings.Join(g.members, `", "`))
	}
	return []byte(b.String())
}

// pubFile returns keys/NAME.pub.
func (rc *recipient) pubFile() []byte {
	return []byte("# " + rc.name + ", a recipient of the benchmark corpus\n" + rc.public + "\n")
}

// identityFile returns identities/NAME.txt, in the format of age-keygen
// without its date line.
func (rc *recipient) identityFile() []byte {
	return []byte("# public key: " + rc.public + "\n" + rc.identity + "\n")
}

// Bech32 as specified by BIP-173, without its 90-character limit, as age
// uses it.

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// toBase32 regroups bytes into 5-bit values, padding the last one with
// zero bits.
func toBase32(data []byte) []byte {
	var out []byte
	acc, bits := 0, 0
	for _, b := range data {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(5-bits)&31))
	}
	return out
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if top>>i&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

// bech32Encode returns the lower-case Bech32 string of hrp and data, a
// slice of 5-bit values. The checksum covers hrp in lower case, so the
// result may be upper-cased as a whole.
func bech32Encode(hrp string, data []byte) string {
	hrp = strings.ToLower(hrp)
	values := make([]byte, 0, 2*len(hrp)+1+len(data)+6)
	for i := range len(hrp) {
		values = append(values, hrp[i]>>5)
	}
	values = append(values, 0)
	for i := range len(hrp) {
		values = append(values, hrp[i]&31)
	}
	values = append(values, data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(values) ^ 1

	var b strings.Builder
	b.Grow(len(hrp) + 1 + len(data) + 6)
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range data {
		b.WriteByte(bech32Charset[v])
	}
	for i := range 6 {
		b.WriteByte(bech32Charset[mod>>(5*(5-i))&31])
	}
	return b.String()
}
