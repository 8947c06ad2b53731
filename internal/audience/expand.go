package audience

import (
	"maps"
	"slices"
	"strings"

	"github.com/conclave-dev/conclave/internal/diag"
)

// MaxGroupDepth is how deep groups may nest: a group of groups of … of
// recipients has at most 64 levels, counting the group that lists
// recipients as one. Real sites nest a handful; the limit keeps a
// mistaken or hostile groups.toml (a chain of thousands of groups) from
// costing more than it checks, and its message from being a list of
// thousands of names.
const MaxGroupDepth = 64

// MaxMemberships is the most (group, recipient) pairs the groups of a
// site may cover once expanded: the sum, over every group, of the number
// of recipients it covers. 2,000 groups of 1,000 recipients each fit.
// Expanded groups are kept in memory, and conclave keys list prints every
// recipient's groups, so this bounds both: a groups.toml of a few hundred
// kilobytes could otherwise describe billions of pairs.
const MaxMemberships = 2_000_000

// The groups are expanded once, when the registry is made: resolveGroups
// visits each group once, depth first, and computes its recipients from
// the sets of its members, which are computed first. It checks, in the
// same walk, that groups contain no cycle and nest at most MaxGroupDepth
// deep. Everything that needs the recipients of a group reads the result
// (Expand for the build's audiences, GroupsOf and the counts of keys
// list): no other code walks the groups, so the cost is the same
// whichever command asks, and linear in the size of groups.toml plus the
// size of the result.
//
// A set is a sorted slice of indices into Registry.order (the recipients'
// names, sorted), so that a group is a few bytes per recipient it covers
// whatever the number of recipients of the site.

const (
	unvisited = iota
	onStack
	done
)

// resolver holds the state of one resolveGroups walk.
type resolver struct {
	r        *Registry
	state    map[string]int
	height   map[string]int    // levels of groups in a done group, itself included
	deepest  map[string]string // the member group through which a done group is deepest
	stack    []string
	reported map[string]bool
	errs     diag.List
	fatal    error    // too deep or too large: the walk stops
	mark     []uint32 // per recipient: the last group (by serial) that counted it
	serial   uint32
	total    int // memberships so far
}

// resolveGroups expands every group of r into r.sets, and reports cycles
// (each once, at the line of its first group in name order), groups nested
// more than MaxGroupDepth deep and more than MaxMemberships memberships.
// Members that are neither recipients nor groups are left out (New
// reports them).
func (r *Registry) resolveGroups() error {
	r.order = slices.Sorted(maps.Keys(r.recipients))
	r.index = make(map[string]int32, len(r.order))
	for i, name := range r.order {
		r.index[name] = int32(i)
	}
	r.sets = make(map[string][]int32, len(r.groups))
	v := &resolver{
		r:        r,
		state:    make(map[string]int, len(r.groups)),
		height:   make(map[string]int, len(r.groups)),
		deepest:  map[string]string{},
		reported: map[string]bool{},
		mark:     make([]uint32, len(r.order)),
	}
	for _, name := range slices.Sorted(maps.Keys(r.groups)) {
		if v.state[name] == unvisited {
			v.visit(name)
		}
		if v.fatal != nil {
			v.errs.Add(v.fatal)
			break
		}
	}
	return v.errs.Err()
}

// visit expands the group name, whose members' sets it computes first.
// The stack never grows past MaxGroupDepth: a deeper group stops the walk.
func (v *resolver) visit(name string) {
	r := v.r
	g := r.groups[name]
	v.state[name] = onStack
	v.stack = append(v.stack, name)
	defer func() { v.stack = v.stack[:len(v.stack)-1] }()

	height, deepest := 1, ""
	for _, m := range g.Members {
		if _, ok := r.index[m]; ok {
			continue
		}
		if r.groups[m] == nil {
			continue // unknown: reported by New
		}
		switch v.state[m] {
		case unvisited:
			if len(v.stack) == MaxGroupDepth {
				v.fatal = v.tooDeep(m)
				return
			}
			v.visit(m)
			if v.fatal != nil {
				return
			}
		case onStack:
			v.cycle(m)
			continue
		}
		if v.state[m] != done {
			continue // m is in a cycle: its set is not complete
		}
		if len(v.stack)+v.height[m] > MaxGroupDepth {
			v.fatal = v.tooDeep(m)
			return
		}
		if v.height[m]+1 > height {
			height, deepest = v.height[m]+1, m
		}
	}

	// The recipients: those listed, and those of every member group, each
	// once. mark remembers which recipients this group has counted.
	v.serial++
	size := 0
	for _, m := range g.Members {
		if _, ok := r.index[m]; ok {
			size++
		} else {
			size += len(r.sets[m])
		}
	}
	set := make([]int32, 0, min(size, len(r.order)))
	add := func(i int32) {
		if v.mark[i] != v.serial {
			v.mark[i] = v.serial
			set = append(set, i)
		}
	}
	for _, m := range g.Members {
		if i, ok := r.index[m]; ok {
			add(i)
			continue
		}
		for _, i := range r.sets[m] {
			add(i)
		}
	}
	slices.Sort(set)
	v.total += len(set)
	if v.total > MaxMemberships {
		v.fatal = diag.Errorf(g.file(), g.Line, "groups cover more than %d memberships once expanded (the sum, over every group, of the recipients it covers), reached at group %q: "+
			"that many do not fit in memory and in conclave keys list; nest fewer groups inside one another", MaxMemberships, name)
		return
	}
	r.sets[name] = slices.Clip(set)
	v.state[name], v.height[name] = done, height
	if deepest != "" {
		v.deepest[name] = deepest
	}
}

// cycle reports the cycle that m, on the stack, closes, once.
func (v *resolver) cycle(m string) {
	cycle := slices.Clone(v.stack[slices.Index(v.stack, m):])
	first := slices.Index(cycle, slices.Min(cycle))
	cycle = append(cycle[first:], cycle[:first]...)
	key := strings.Join(cycle, " ")
	if v.reported[key] {
		return
	}
	v.reported[key] = true
	g := v.r.groups[cycle[0]]
	v.errs.Add(diag.Errorf(g.file(), g.Line, "group cycle: %s → %s (a group cannot contain itself)", strings.Join(cycle, " → "), cycle[0]))
}

// tooDeep is the error for the stack, then m and the deepest groups
// inside it, nesting more than MaxGroupDepth deep: it shows the first
// MaxGroupDepth+1 of them, and is located at the line of the outermost.
func (v *resolver) tooDeep(m string) error {
	chain := slices.Clone(v.stack)
	for n := m; n != "" && len(chain) <= MaxGroupDepth; n = v.deepest[n] {
		chain = append(chain, n)
	}
	shown := strings.Join(chain, " → ")
	if len(chain) > 6 {
		shown = strings.Join(chain[:3], " → ") + " → … → " + strings.Join(chain[len(chain)-2:], " → ")
	}
	g := v.r.groups[chain[0]]
	return diag.Errorf(g.file(), g.Line, "groups nested more than %d deep: %s: a group of groups of … of recipients may have at most %d levels", MaxGroupDepth, shown, MaxGroupDepth)
}

// members returns the sorted recipient names of the sorted index set.
func (r *Registry) members(set []int32) []string {
	out := make([]string, len(set))
	for i, j := range set {
		out[i] = r.order[j]
	}
	return out
}

// groupsOfRecipients maps each recipient to the groups that cover it,
// sorted: made once, from the sets, on first use.
func (r *Registry) groupsOfRecipients() map[string][]string {
	r.inverseOnce.Do(func() {
		r.inverse = map[string][]string{}
		for _, gname := range slices.Sorted(maps.Keys(r.sets)) {
			for _, i := range r.sets[gname] {
				name := r.order[i]
				r.inverse[name] = append(r.inverse[name], gname)
			}
		}
	})
	return r.inverse
}

// groupsOfGroup returns the groups that contain the group name, directly
// or not, sorted: a walk up the groups that list it, each group once.
func (r *Registry) groupsOfGroup(name string) []string {
	parents := map[string][]string{}
	for _, g := range r.groups {
		for _, m := range g.Members {
			if r.groups[m] != nil {
				parents[m] = append(parents[m], g.Name)
			}
		}
	}
	seen := map[string]bool{}
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, p := range parents[n] {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	delete(seen, name)
	return slices.Sorted(maps.Keys(seen))
}
