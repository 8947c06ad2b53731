package seal

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/cache"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
)

// secretKeyPrefix is the start of an age secret key, written in two parts:
// a repository check refuses files that hold it in one piece.
const secretKeyPrefix = "AGE-SECRET" + "-KEY"

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

// build is one run of the sealing stage over fresh parses of pages.
type build struct {
	plan   *Plan
	sealer *Sealer
	docs   []*markdown.Doc
	out    *outputs
}

// sealBuild plans, seals and writes the keyrings of pages with cache,
// which may be nil.
func sealBuild(t *testing.T, reg *audience.Registry, cache *Cache, pages ...*site.Page) *build {
	t.Helper()
	conv := newConv(t)
	var clones []*site.Page
	for _, p := range pages {
		clones = append(clones, clonePage(p))
	}
	b := &build{docs: parse(t, conv, clones...), out: newOutputs()}
	var err error
	if b.plan, err = NewPlan(b.docs, reg, config()); err != nil {
		t.Fatal(err)
	}
	if b.sealer, err = NewSealer(b.plan, conv, cache); err != nil {
		t.Fatal(err)
	}
	sealAll(t, b.sealer, b.docs, b.out.emit)
	if err := b.sealer.Keyrings(reg, b.out.emit); err != nil {
		t.Fatal(err)
	}
	return b
}

// keys returns the audience keys of a build by the audience's members.
func (b *build) keys() map[string]string {
	out := map[string]string{}
	for _, a := range b.plan.Audiences() {
		out[strings.Join(a.Members, ",")] = identityString(b.sealer.ids[a.ID])
	}
	return out
}

// packetOf returns the packet of the first placeholder of the page at path.
func (b *build) packetOf(t *testing.T, path string) []byte {
	t.Helper()
	for _, d := range b.docs {
		if d.Page.Path == path {
			return b.out.files[sealed(t, d)[0].Packet]
		}
	}
	t.Fatalf("no page %s", path)
	return nil
}

func openCache(t *testing.T, dir string, key []byte) *Cache {
	t.Helper()
	c, warning, err := OpenCache(dir, key)
	if err != nil || warning != "" {
		t.Fatalf("OpenCache: %v %q", err, warning)
	}
	return c
}

func isEmpty(c *Cache) bool {
	return len(c.old.Audiences) == 0 && len(c.old.Packets) == 0
}

func TestOpenCacheMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never-made")
	c := openCache(t, dir, testKey(1))
	if !isEmpty(c) {
		t.Errorf("a missing cache is not empty")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("OpenCache made the folder")
	}
	if _, _, err := OpenCache(dir, testKey(1)[:16]); err == nil || !strings.Contains(err.Error(), "cache key must be 32 bytes, not 16") {
		t.Errorf("short key: %v", err)
	}
}

// A second build with the cache of the first emits the same packets, byte
// for byte, and encrypts no packet anew; its keyrings are all new.
func TestCacheRoundTrip(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := filepath.Join(t.TempDir(), ".conclave")
	first := sealBuild(t, reg, openCache(t, dir, testKey(1)), sealPages()...)
	if err := first.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	c := openCache(t, dir, testKey(1))
	if isEmpty(c) {
		t.Fatal("the saved cache reads back empty")
	}
	second := sealBuild(t, reg, c, sealPages()...)
	if !maps.Equal(first.keys(), second.keys()) {
		t.Errorf("audience keys differ between builds")
	}
	packets1, packets2 := packetFiles(first), packetFiles(second)
	if !maps.EqualFunc(packets1, packets2, bytes.Equal) {
		t.Errorf("the second build emitted other packets:\nfirst  %v\nsecond %v", slices.Sorted(maps.Keys(packets1)), slices.Sorted(maps.Keys(packets2)))
	}
	checkAllNew(t, first.out.under(format.KeyringDir), second.out.under(format.KeyringDir))
	if st := second.sealer.Stats(); st.Fresh != 0 || st.CachedPackets != st.Blocks {
		t.Errorf("second build: %+v", st)
	}

	// Without the cache, or with another key, everything is new.
	for name, c := range map[string]*Cache{"no cache": nil, "empty cache": openCache(t, t.TempDir(), testKey(1))} {
		cold := sealBuild(t, reg, c, sealPages()...)
		for path, data := range cold.out.files {
			if path == format.KeyringIndex { // a fixed name: its content is new
				if bytes.Equal(data, first.out.files[path]) {
					t.Errorf("%s: %s is the same as in the first build", name, path)
				}
				continue
			}
			if _, ok := first.out.files[path]; ok {
				t.Errorf("%s: %s is the same as in the first build", name, path)
			}
		}
	}
}

func TestCacheUnreadable(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := t.TempDir()
	first := sealBuild(t, reg, openCache(t, dir, testKey(1)), sealPages()...)
	if err := first.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, CacheFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	// A cache whose contents another version of conclave wrote, and one
	// that lacks a part, encrypted with the right key.
	written := func(edit func(*cacheData)) []byte {
		d := t.TempDir()
		c := openCache(t, d, testKey(1))
		edit(&c.cur)
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(d, CacheFile))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A cache file of version 3: one cacheData value.
	earlier := func() []byte {
		d := t.TempDir()
		old := newCacheData()
		old.Version = 3
		old.Packets["k"] = []byte("ciphertext")
		if err := cache.SaveStream(filepath.Join(d, CacheFile), testKey(1), func(e *gob.Encoder) error { return e.Encode(old) }); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(d, CacheFile))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		key  []byte
		want string
	}{
		{"another key", good, testKey(2), "it was written with another cache key, or damaged"},
		{"empty", nil, testKey(1), "too short"},
		{"truncated to the nonce", good[:24], testKey(1), "too short"},
		{"truncated by one byte", good[:len(good)-1], testKey(1), "another cache key, or damaged"},
		{"truncated by half", good[:len(good)/2], testKey(1), "another cache key, or damaged"},
		{"start flipped", flip(0), testKey(1), "earlier version of conclave, or damaged"},
		{"nonce flipped", flip(16), testKey(1), "another cache key, or damaged"},
		{"ciphertext flipped", flip(len(good) / 2), testKey(1), "another cache key, or damaged"},
		{"tag flipped", flip(len(good) - 1), testKey(1), "another cache key, or damaged"},
		{"not a cache", []byte(strings.Repeat("garbage ", 100)), testKey(1), "earlier version of conclave, or damaged"},
		{"another version", written(func(d *cacheData) { d.Version = cacheVersion + 1 }), testKey(1), "written by another version of conclave"},
		{"incomplete", written(func(d *cacheData) { d.Audiences = nil }), testKey(1), "incomplete"},
		{"an earlier version's one value", earlier(), testKey(1), "written by another version of conclave"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			c, warning, err := OpenCache(dir, tc.key)
			if err != nil {
				t.Fatalf("error: %v (want a warning)", err)
			}
			if !strings.Contains(warning, tc.want) || !strings.Contains(warning, path) || !strings.Contains(warning, "every block is encrypted anew") {
				t.Errorf("warning = %q, want it to name %s and say %q", warning, path, tc.want)
			}
			if !isEmpty(c) {
				t.Errorf("the cache is not empty")
			}
			// The build goes on cold.
			b := sealBuild(t, reg, c, sealPages()...)
			if st := b.sealer.Stats(); st.Fresh < st.Packets || st.Fresh+st.CachedPackets != st.Blocks {
				t.Errorf("stats of a cold build: %+v", st)
			}
		})
	}
	// A cache that cannot be read at all is an error.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenCache(dir, testKey(1)); err == nil {
		t.Errorf("a folder in the cache's place: no error")
	}
}

// Removing a member from an audience gives it a new key, and every other
// audience too (any change to keys/ does): the packets that change
// between the two releases tell that keys/ changed, not whose audience.
func TestCacheMemberRemoved(t *testing.T) {
	ps := fixturePeople(t)
	before := registry(t, ps, fixtureGroups)
	after := registry(t, ps, strings.Replace(fixtureGroups, `board = ["alice", "bob"]`, `board = ["alice"]`, 1))
	pages := []*site.Page{
		page("content/board.md", "::: restricted to=board\nBoard passage.\n:::\n"),
		page("content/vendors.md", "::: restricted to=vendors\nVendor passage.\n:::\n"),
	}
	dir := t.TempDir()
	first := sealBuild(t, before, openCache(t, dir, testKey(1)), pages...)
	if err := first.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	second := sealBuild(t, after, openCache(t, dir, testKey(1)), pages...)
	k1, k2 := first.keys(), second.keys()
	if k1["carol,juniper"] == "" || k2["carol,juniper"] == "" || k1["carol,juniper"] == k2["carol,juniper"] {
		t.Errorf("vendors kept their key after the board lost a member")
	}
	if k2["alice"] == "" || k2["alice"] == k1["alice,bob"] {
		t.Errorf("board kept its key after losing a member")
	}
	if bytes.Equal(first.packetOf(t, "content/vendors.md"), second.packetOf(t, "content/vendors.md")) {
		t.Errorf("the vendors' packet did not change: it tells that the board's membership, not the vendors', changed")
	}
	if bytes.Equal(first.packetOf(t, "content/board.md"), second.packetOf(t, "content/board.md")) {
		t.Errorf("the board's packet did not change")
	}
	// bob can open the old packet, not the new one.
	if _, err := decrypt(t, second.packetOf(t, "content/board.md"), first.sealer.ids[first.plan.Audiences()[0].ID], first.sealer.ids[first.plan.Audiences()[1].ID]); err == nil {
		t.Errorf("the new board packet opens with an old audience key")
	}
	// carol's keyring holds the vendors' key only, as before, but like
	// every keyring it is new: which keyrings changed tells nothing of
	// whose audiences did.
	carol := func(b *build) ([]byte, []string) {
		for _, ct := range b.out.under(format.KeyringDir) {
			if pt, err := decrypt(t, ct, ps["carol"].ids...); err == nil {
				return ct, identityStrings(t, pt)
			}
		}
		t.Fatal("carol has no keyring")
		return nil, nil
	}
	ring1, keys1 := carol(first)
	ring2, keys2 := carol(second)
	if len(keys1) != 1 || len(keys2) != 1 || keys1[0] != k1["carol,juniper"] || keys2[0] != k2["carol,juniper"] {
		t.Errorf("carol's keyring holds %d keys, then %d; want the vendors' key of each release", len(keys1), len(keys2))
	}
	if bytes.Equal(ring1, ring2) {
		t.Errorf("carol's keyring was published again")
	}
	checkAllNew(t, first.out.under(format.KeyringDir), second.out.under(format.KeyringDir))
	// Only what the second build used is kept.
	if err := second.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	c := openCache(t, dir, testKey(1))
	if len(c.old.Audiences) != 2 || len(c.old.Packets) != 2 {
		t.Errorf("saved cache holds %d audiences and %d packets, want 2 and 2", len(c.old.Audiences), len(c.old.Packets))
	}
	for _, a := range first.plan.Audiences() {
		if strings.Join(a.Members, ",") == "alice,bob" && c.old.Audiences[a.ID] != "" {
			t.Errorf("the old board key is still in the cache")
		}
	}
}

func TestCacheSave(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := filepath.Join(t.TempDir(), "site", ".conclave")
	c := openCache(t, dir, testKey(7))
	b := sealBuild(t, reg, c, sealPages()...)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, CacheFile)
	check := func() os.FileInfo {
		t.Helper()
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 || fi.Mode().Perm() != 0o600 {
			t.Errorf("folder mode %v, file mode %v; want 0700 and 0600", di.Mode().Perm(), fi.Mode().Perm())
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != CacheFile {
			t.Errorf("the folder holds %v, want only %s", entries, CacheFile)
		}
		return fi
	}
	fi1 := check()

	// Nothing secret in clear: no audience key, no text, no recipient
	// key.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain := []string{secretKeyPrefix, "secret A", "Shared passage", "Quarterly merger plan", "conclave"}
	for _, k := range b.keys() {
		plain = append(plain, k, k[len(secretKeyPrefix):])
	}
	for _, p := range fixturePeople(t) {
		plain = append(plain, p.keys[0].Text)
	}
	for _, a := range b.plan.Audiences() {
		plain = append(plain, a.ID)
	}
	for _, s := range plain {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the cache file holds %.40q in clear", s)
		}
	}
	if bytes.Contains(bytes.ToLower(data), []byte(strings.ToLower(secretKeyPrefix))) {
		t.Errorf("the cache file holds a secret key in clear")
	}

	// A second save replaces the file by renaming a new one over it.
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	fi2 := check()
	if os.SameFile(fi1, fi2) {
		t.Errorf("Save wrote over the old file instead of replacing it")
	}
	var nilCache *Cache
	if err := nilCache.Save(); err != nil {
		t.Errorf("nil cache: %v", err)
	}
}

// A build that used the whole cache as read, and added nothing, leaves
// its file as it is; one that added a packet, or used only part of the
// cache, replaces it.
func TestCacheSaveKeepsUnchangedFile(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := filepath.Join(t.TempDir(), ".conclave")
	path := filepath.Join(dir, CacheFile)
	// build seals pages with the cache as the last build left it, saves
	// it, and returns its file.
	build := func(pages ...*site.Page) os.FileInfo {
		t.Helper()
		c := openCache(t, dir, testKey(3))
		sealBuild(t, reg, c, pages...)
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	pages := sealPages()
	first := build(pages...)
	packets := len(openCache(t, dir, testKey(3)).old.Packets)

	if again := build(pages...); !os.SameFile(first, again) {
		t.Error("a build that used the cache as it was rewrote it")
	}

	added := build(append(slices.Clone(pages), page("content/new.md", "::: restricted to=alice\nA new passage, secret N.\n:::\n"))...)
	if os.SameFile(first, added) {
		t.Error("a build that sealed a new passage left the cache file as it was")
	}

	// As many packets, one of them new.
	swapped := build(append(slices.Clone(pages), page("content/new.md", "::: restricted to=alice\nAnother passage, secret O.\n:::\n"))...)
	if os.SameFile(added, swapped) {
		t.Error("a build that sealed a passage in place of another left the cache file as it was")
	}

	if fewer := build(pages...); os.SameFile(swapped, fewer) {
		t.Error("a build that used part of the cache left the rest in its file")
	}
	if n, want := len(openCache(t, dir, testKey(3)).old.Packets), packets; n != want {
		t.Errorf("the cache file holds %d packets, want %d: those of the passage no build uses are kept", n, want)
	}
}

// A save that fails leaves the old cache and no temporary file.
func TestCacheSaveFails(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir, testKey(1))
	// The cache file's place is taken by a folder that is not empty: the
	// rename that replaces the file fails, for root too.
	path := filepath.Join(dir, CacheFile)
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err == nil {
		t.Errorf("Save over a folder: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != CacheFile || !entries[0].IsDir() {
		t.Errorf("folder holds %v: a temporary file was left, or the folder replaced", entries)
	}
}

// A packet in the cache is reused only with the audience key it was
// encrypted to: if the cache lost or changed that key, the packet is
// encrypted anew, never published unreadable.
func TestCachePacketNeedsItsKey(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := t.TempDir()
	pages := []*site.Page{page("content/a.md", "::: restricted to=board\nBoard passage.\n:::\n")}
	first := sealBuild(t, reg, openCache(t, dir, testKey(1)), pages...)
	c := first.sealer.cache
	for id := range c.cur.Audiences {
		delete(c.cur.Audiences, id) // lost: the next build makes a new key
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	second := sealBuild(t, reg, openCache(t, dir, testKey(1)), pages...)
	a := second.plan.Audiences()[0]
	if _, err := decrypt(t, second.packetOf(t, "content/a.md"), second.sealer.ids[a.ID]); err != nil {
		t.Errorf("the packet does not open with its audience's key: %v", err)
	}
}

// The keyring index holds every keyring the build wrote, byte for byte,
// sorted by name, and nothing else.
func TestKeyringIndex(t *testing.T) {
	b := sealBuild(t, fixtureRegistry(t), nil, sealPages()...)
	var index format.Keyrings
	if err := json.Unmarshal(b.out.files[format.KeyringIndex], &index); err != nil {
		t.Fatalf("%s: %v", format.KeyringIndex, err)
	}
	want := map[string][]byte{}
	for p, data := range b.out.files {
		if name, ok := strings.CutPrefix(p, format.KeyringDir+"/"); ok {
			want[name] = data
		}
	}
	if index.Version != 1 || len(index.Keyrings) != len(want) || len(want) == 0 {
		t.Fatalf("index: version %d, %d keyrings; want 1 and %d", index.Version, len(index.Keyrings), len(want))
	}
	for i, k := range index.Keyrings {
		if !bytes.Equal(k.Data, want[k.Name]) {
			t.Errorf("%s: not the keyring written", k.Name)
		}
		if k.Passphrase {
			t.Errorf("%s: marked as a passphrase keyring", k.Name)
		}
		if i > 0 && index.Keyrings[i-1].Name >= k.Name {
			t.Errorf("not sorted at %s", k.Name)
		}
	}
}
