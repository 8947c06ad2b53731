package audience

import "github.com/conclave-dev/conclave/internal/diag"

// Linkable reports whether the files that age encrypts to the key say
// whose they are to anyone who holds the public key: age's ssh-ed25519 and
// ssh-rsa stanzas carry a 4-byte tag of the SSH public key, and tagged
// keys (age1tag1…, age1tagpq1…) a tag computed from it, so that a
// candidate public key tells which keyring is its holder's (DESIGN §4,
// "Metadata"). A plugin's stanzas are the plugin's own: those of hardware
// keys carry such a tag (age-plugin-yubikey's do), and conclave cannot
// tell, so plugin keys count as linkable too. X25519, post-quantum hybrid
// and passphrase keys are not linkable.
func (k Key) Linkable() bool {
	switch k.Kind {
	case SSHEd25519, SSHRSA, Tag, TagPQ, Plugin:
		return true
	}
	return false
}

// linkableReason says why a linkable key of kind k is linkable.
func linkableReason(k Key) string {
	switch k.Kind {
	case SSHEd25519, SSHRSA:
		return "age writes a 4-byte tag of an SSH public key in every file encrypted to it"
	case Tag, TagPQ:
		return "age writes a 4-byte tag of a tagged key in every file encrypted to it"
	default:
		return "a plugin's files may carry a tag of its key (those of hardware keys do), which conclave cannot rule out"
	}
}

// RefuseLinkable reports every [Key.Linkable] key of every recipient, at
// its line, for a site that refuses them ([seal] linkable = false).
// setting says where the site does, such as "conclave.toml:7 sets [seal]
// linkable = false". A recipient of no audience is refused too: keys/ is
// what the site trusts, whether or not a page names the recipient yet.
func (r *Registry) RefuseLinkable(setting string) error {
	var errs diag.List
	for _, rec := range r.Recipients() {
		for _, k := range rec.Keys {
			if !k.Linkable() {
				continue
			}
			errs.Add(diag.Errorf(rec.file(), k.Line, "%s key is linkable: %s, so anyone who has this public key can tell which keyring is %s's, and %s: "+
				"give %s an age key instead (conclave keys gen %s --add, then delete this line), or allow linkable keys with linkable = true",
				k.Type(), linkableReason(k), rec.Name, setting, rec.Name, rec.Name))
		}
	}
	return errs.Err()
}
