package seal

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// person is a test recipient: the identities a reader holds and the
// public keys the site lists for them.
type person struct {
	name string
	ids  []age.Identity
	keys []audience.Key
}

// newPerson makes a recipient with one key of each kind given: false for
// X25519, true for a post-quantum hybrid key.
func newPerson(t testing.TB, name string, pq ...bool) *person {
	t.Helper()
	p := &person{name: name}
	for i, hybrid := range pq {
		if hybrid {
			id, err := age.GenerateHybridIdentity()
			if err != nil {
				t.Fatal(err)
			}
			r := id.Recipient()
			p.ids = append(p.ids, id)
			p.keys = append(p.keys, audience.Key{Kind: audience.Hybrid, Text: r.String(), Line: i + 1, PostQuantum: true, Recipient: r})
			continue
		}
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		r := id.Recipient()
		p.ids = append(p.ids, id)
		p.keys = append(p.keys, audience.Key{Kind: audience.X25519, Text: r.String(), Line: i + 1, Recipient: r})
	}
	return p
}

func (p *person) recipient() *audience.Recipient {
	return &audience.Recipient{Name: p.name, File: "keys/" + p.name + ".pub", Keys: slices.Clone(p.keys)}
}

// people are the recipients of the test site. Their names appear in no
// group name, so that a display label that holds one is caught.
type people map[string]*person

var (
	peopleOnce sync.Once
	testPeople people
)

// fixturePeople returns the test recipients, made once per test binary:
// alice, bob, carol, dave, juniper and eve have an X25519 key; erin has an
// X25519 key and a post-quantum one; pq1 and pq2 have post-quantum keys
// only.
func fixturePeople(t testing.TB) people {
	t.Helper()
	peopleOnce.Do(func() {
		testPeople = people{}
		for _, n := range []string{"alice", "bob", "carol", "dave", "juniper", "eve"} {
			testPeople[n] = newPerson(t, n, false)
		}
		testPeople["erin"] = newPerson(t, "erin", false, true)
		testPeople["pq1"] = newPerson(t, "pq1", true)
		testPeople["pq2"] = newPerson(t, "pq2", true)
	})
	return testPeople
}

// fixtureGroups are the groups of the test site.
const fixtureGroups = `board = ["alice", "bob"]
vendors = ["carol", "juniper"]
members = ["board", "vendors"]
pqteam = ["pq1", "pq2"]
`

// registry builds a registry of ps with groups written as in groups.toml.
func registry(t testing.TB, ps people, groups string) *audience.Registry {
	t.Helper()
	var rs []*audience.Recipient
	for _, n := range slices.Sorted(maps.Keys(ps)) {
		rs = append(rs, ps[n].recipient())
	}
	gs, err := audience.ParseGroups(audience.GroupsFile, []byte(groups))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := audience.New(rs, gs)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func fixtureRegistry(t testing.TB) *audience.Registry {
	t.Helper()
	return registry(t, fixturePeople(t), fixtureGroups)
}

func newConv(t testing.TB) *markdown.Converter {
	t.Helper()
	c, err := markdown.New(markdown.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bodyLine is the line of its file on which a test page's body starts,
// after four lines of front matter.
const bodyLine = 5

// page is a test page at path with body.
func page(path, body string) *site.Page {
	return &site.Page{Path: path, Kind: site.KindPage, URL: "/" + strings.TrimSuffix(strings.TrimPrefix(path, "content/"), ".md") + "/", Body: []byte(body), BodyLine: bodyLine, Front: site.Front{Title: "Page " + path}}
}

// labelled sets a page's tlp: on line 3 of its file.
func labelled(p *site.Page, l tlp.Label) *site.Page {
	p.Front.TLP = l
	p.Front.SetLine("tlp", 3)
	return p
}

// whole restricts a page as a whole to names, on line 2 of its file.
func whole(p *site.Page, names ...string) *site.Page {
	p.Front.Audience = names
	p.Front.SetLine("audience", 2)
	return p
}

// parse parses pages; it fails the test if a page has problems.
func parse(t testing.TB, conv *markdown.Converter, pages ...*site.Page) []*markdown.Doc {
	t.Helper()
	docs := make([]*markdown.Doc, len(pages))
	for i, p := range pages {
		docs[i] = conv.Parse(p, nil)
		if err := markdown.Validate(docs[i]); err != nil {
			t.Fatalf("%s: %v", p.Path, err)
		}
	}
	return docs
}

// clonePage copies a page deeply enough for a second parse.
func clonePage(p *site.Page) *site.Page {
	c := *p
	c.Front.Tags = slices.Clone(p.Front.Tags)
	c.Front.Audience = slices.Clone(p.Front.Audience)
	return &c
}

func config() *site.Config { return &site.Config{TLP: map[tlp.Label][]string{}} }

// outputs collects what a Sealer emits, and how often each path was
// emitted.
type outputs struct {
	mu    sync.Mutex
	files map[string][]byte
	count map[string]int
}

func newOutputs() *outputs { return &outputs{files: map[string][]byte{}, count: map[string]int{}} }

func (o *outputs) emit(path string, data []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[path] = bytes.Clone(data)
	o.count[path]++
	return nil
}

// under returns the files emitted directly under dir.
func (o *outputs) under(dir string) map[string][]byte {
	out := map[string][]byte{}
	for p, data := range o.files {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok && !strings.Contains(rest, "/") {
			out[p] = data
		}
	}
	return out
}

// sealed returns the placeholders of a document's tree, in order, and
// fails the test if a restricted block is left in it.
func sealed(t *testing.T, d *markdown.Doc) []*restricted.Sealed {
	t.Helper()
	var out []*restricted.Sealed
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *restricted.Block:
			t.Errorf("%s: a restricted block is left in the tree after sealing", d.Page.Path)
		case *restricted.Sealed:
			out = append(out, n)
		}
		return ast.WalkContinue, nil
	})
	return out
}

// decrypt decrypts an age file with ids.
func decrypt(t testing.TB, ct []byte, ids ...age.Identity) ([]byte, error) {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(ct), ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func mustDecrypt(t testing.TB, what string, ct []byte, ids ...age.Identity) []byte {
	t.Helper()
	pt, err := decrypt(t, ct, ids...)
	if err != nil {
		t.Fatalf("decrypting %s: %v", what, err)
	}
	return pt
}

// identityStrings returns the identities of an identity file, as text.
func identityStrings(t testing.TB, file []byte) []string {
	t.Helper()
	ids, err := age.ParseIdentities(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("keyring is not an identity file: %v", err)
	}
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprint(id))
	}
	slices.Sort(out)
	return out
}
