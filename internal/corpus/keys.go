package corpus

import (
	"crypto/ecdh"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/conclave-dev/conclave/internal/bech32"
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
			public:   bech32.Encode("age", priv.PublicKey().Bytes()),
			identity: strings.ToUpper(bech32.Encode(secretPrefix, scalar[:])),
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
