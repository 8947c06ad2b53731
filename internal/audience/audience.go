// Package audience reads the recipients of a site, their public keys and
// their groups, from the site's keys/ folder, and resolves names to
// recipients.
//
// # Files
//
// keys/NAME.pub holds the public keys of the recipient NAME, one a line;
// blank lines and lines starting with "#" are ignored. A recipient who holds
// several identities (a laptop, a YubiKey) can read with any of them. The
// recognised keys are those of age: X25519 ("age1…"), post-quantum hybrid
// ("age1pq1…"), tagged ("age1tag1…", "age1tagpq1…"), SSH ("ssh-ed25519 …",
// "ssh-rsa …" of 2048 bits or more, optionally followed by a comment) and
// plugin recipients ("age1yubikey1…").
//
// Some keys are linkable ([Key.Linkable]): age writes a tag of an SSH or
// tagged public key in every file encrypted to it, so whoever holds the
// public key can tell which keyring is its holder's. A site may refuse
// them ([Registry.RefuseLinkable]).
//
// A guest without keys reads with a passphrase: the line
// "passphrase env:NAME" names the environment variable that holds it when
// the site is built. The passphrase is never in keys/; [Load] reads it
// from the environment it is given ([LoadOptions]), and the guest's
// keyring is sealed with it (age's scrypt).
//
// keys/groups.toml defines groups of recipients and other groups:
//
//	board   = ["alice", "bob"]
//	members = ["board", "vendors"]
//
// Names of recipients and groups match [site.NamePattern], and no group has
// the name of a recipient. Groups may nest, but not in a cycle.
//
// keys/ holds public keys only. A secret key in it, or any file other than
// these and a README (another file could be an identity saved in the wrong
// place), is an error.
//
// # Resolving names
//
// A [Registry] holds the recipients and groups of a site; [Registry.Expand]
// turns the names an author wrote into the recipients they cover.
package audience

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/site"
)

// KeysDir is the folder, under the site root, that holds public keys and
// groups.
const KeysDir = "keys"

// Recipient is a person or team who can read restricted passages, and the
// public keys they read with.
type Recipient struct {
	Name string
	File string // slash path of the .pub file from the site root, such as "keys/alice.pub"
	Keys []Key
}

func (r *Recipient) file() string {
	if r.File == "" {
		return KeysDir + "/" + r.Name + ".pub"
	}
	return r.File
}

// Registry is the recipients and groups of a site. It is not modified after
// [New] returns it, so it is safe for concurrent use.
type Registry struct {
	recipients map[string]*Recipient
	groups     map[string]*Group
	names      []string // every recipient and group name, sorted

	// The groups, expanded once by resolveGroups (see expand.go).
	order []string           // every recipient name, sorted
	index map[string]int32   // recipient name → its place in order
	sets  map[string][]int32 // group name → its recipients, as sorted places in order

	inverseOnce sync.Once
	inverse     map[string][]string // recipient → the groups that cover it, sorted
}

// New builds a registry from recipients and groups, and checks them
// together: names are valid and unique, every recipient has a key, no group
// has the name of a recipient, every member of a group is a recipient or a
// group, groups do not contain themselves, directly or not, and nest at most
// [MaxGroupDepth] deep. Each group is expanded once, here: the cost is
// linear in the size of the groups and of what they expand to (at most
// [MaxMemberships]).
//
// Problems are returned as a [diag.List] of located errors, and a nil
// registry. The registry keeps the given values: do not modify them
// afterwards.
func New(recipients []*Recipient, groups []*Group) (*Registry, error) {
	return build(recipients, groups, nil)
}

// build is New; recipients whose names are in broken had errors already
// reported, and are only checked as names.
func build(recipients []*Recipient, groups []*Group, broken map[string]bool) (*Registry, error) {
	r := &Registry{
		recipients: map[string]*Recipient{},
		groups:     map[string]*Group{},
	}
	var errs diag.List
	for _, rec := range recipients {
		switch {
		case !site.NamePattern.MatchString(rec.Name):
			errs.Add(diag.Errorf(rec.file(), 0, "recipient name %q: want %s", rec.Name, nameRule))
		case r.recipients[rec.Name] != nil:
			errs.Add(diag.Errorf(rec.file(), 0, "recipient %q is defined twice (also in %s)", rec.Name, r.recipients[rec.Name].file()))
		case len(rec.Keys) == 0 && !broken[rec.Name]:
			errs.Add(noKeys(rec.file()))
		}
		if r.recipients[rec.Name] == nil {
			r.recipients[rec.Name] = rec
		}
	}
	for _, g := range groups {
		switch {
		case !site.NamePattern.MatchString(g.Name):
			errs.Add(diag.Errorf(g.file(), g.Line, "group name %q: want %s", g.Name, nameRule))
		case r.groups[g.Name] != nil:
			errs.Add(diag.Errorf(g.file(), g.Line, "group %q is defined twice (also on line %d)", g.Name, r.groups[g.Name].Line))
		case r.recipients[g.Name] != nil:
			errs.Add(diag.Errorf(g.file(), g.Line, "group %q has the name of a recipient (%s): rename one of them", g.Name, r.recipients[g.Name].file()))
		case len(g.Members) == 0:
			errs.Add(diag.Errorf(g.file(), g.Line, "group %q is empty: list at least one recipient or group", g.Name))
		}
		if r.groups[g.Name] == nil {
			r.groups[g.Name] = g
		}
	}
	r.names = slices.Sorted(maps.Keys(r.recipients))
	for name := range r.groups {
		if r.recipients[name] == nil {
			r.names = append(r.names, name)
		}
	}
	slices.Sort(r.names)
	for _, g := range groups {
		seen := map[string]bool{}
		for _, m := range g.Members {
			if seen[m] {
				continue
			}
			seen[m] = true
			if r.recipients[m] == nil && r.groups[m] == nil {
				err := r.unknown(m)
				errs.Add(diag.Errorf(g.file(), g.Line, "group %q: %s", g.Name, err.memberMsg()))
			}
		}
	}
	errs.Add(r.resolveGroups())
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Recipient returns the recipient called name.
func (r *Registry) Recipient(name string) (*Recipient, bool) {
	rec, ok := r.recipients[name]
	return rec, ok
}

// Group returns the group called name.
func (r *Registry) Group(name string) (*Group, bool) {
	g, ok := r.groups[name]
	return g, ok
}

// IsGroup reports whether name is a group.
func (r *Registry) IsGroup(name string) bool { return r.groups[name] != nil }

// Recipients returns every recipient, sorted by name.
func (r *Registry) Recipients() []*Recipient {
	out := make([]*Recipient, 0, len(r.recipients))
	for _, name := range slices.Sorted(maps.Keys(r.recipients)) {
		out = append(out, r.recipients[name])
	}
	return out
}

// Groups returns every group, sorted by name.
func (r *Registry) Groups() []*Group {
	out := make([]*Group, 0, len(r.groups))
	for _, name := range slices.Sorted(maps.Keys(r.groups)) {
		out = append(out, r.groups[name])
	}
	return out
}

// Expand resolves recipient and group names, groups recursively, to the
// recipient names they cover: sorted, each once. The first name that is
// neither a recipient nor a group gives an [*UnknownNameError].
func (r *Registry) Expand(names []string) ([]string, error) {
	var set []int32
	for _, n := range names {
		if i, ok := r.index[n]; ok {
			set = append(set, i)
		} else if s, ok := r.sets[n]; ok {
			set = append(set, s...)
		} else {
			return nil, r.unknown(n)
		}
	}
	slices.Sort(set)
	return r.members(slices.Compact(set)), nil
}

// GroupsOf returns the names of the groups that contain name, a recipient
// or a group, directly or through nested groups, sorted. It is empty for a
// name that no group contains, and for an unknown name.
func (r *Registry) GroupsOf(name string) []string {
	switch {
	case r.recipients[name] != nil:
		return append([]string{}, r.groupsOfRecipients()[name]...)
	case r.groups[name] != nil:
		return r.groupsOfGroup(name)
	}
	return []string{}
}

func (r *Registry) unknown(name string) *UnknownNameError {
	return &UnknownNameError{Name: name, Suggestion: diag.Suggest(name, r.names)}
}

// UnknownNameError is a name that is neither a recipient nor a group.
// Suggestion is the known name closest to it, or "" if none is close.
type UnknownNameError struct{ Name, Suggestion string }

// Error reads `unknown recipient or group "junper" (did you mean
// "juniper"?)`, or says how to add the recipient when there is no
// suggestion.
func (e *UnknownNameError) Error() string {
	return "unknown recipient or group " + e.detail()
}

func (e *UnknownNameError) memberMsg() string {
	return "unknown member " + e.detail()
}

func (e *UnknownNameError) detail() string {
	switch {
	case e.Suggestion != "":
		return fmt.Sprintf("%q (did you mean %q?)", e.Name, e.Suggestion)
	case !site.NamePattern.MatchString(e.Name):
		return fmt.Sprintf("%q (names are %s)", e.Name, nameRule)
	default:
		return fmt.Sprintf("%q (add the recipient's public key as %s/%s.pub, or define the group in %s)", e.Name, KeysDir, e.Name, GroupsFile)
	}
}
