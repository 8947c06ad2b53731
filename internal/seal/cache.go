package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/cache"
	"github.com/conclave-dev/conclave/internal/diag"
)

// CacheFile is the cache's file name in the site's .conclave folder.
const CacheFile = "seal.cache"

// KeySize is the size of a cache key in bytes.
const KeySize = cache.KeySize

// cacheVersion changes whenever the cache's contents change meaning.
// Version 2: packets are keyed by the block's place too, and keyrings are
// not cached. Version 3: attachments' packets are not kept, but found in
// the previous output. Version 4: a header, then each packet a value of
// its own (see cacheHeader), not one value gob would hold whole.
const cacheVersion = 4

// Cache keeps what a build sealed, so that the next build can reuse it:
// the audience keys, and the ciphertext of every packet by a digest of the
// block's place (its page and its rank among the page's identical blocks),
// audience and plaintext ([packetKey]). Unchanged blocks then keep their
// packets byte for byte, and a deploy uploads only what changed. Keyrings
// are never cached: every build encrypts them anew (see
// [Sealer.Keyrings]).
//
// The cache holds secrets (the audience keys, and digests of restricted
// text), so its file is encrypted and authenticated with XChaCha20-Poly1305
// under a key kept outside the site (see [cache.LoadKey]): a cache that is
// copied, committed or published by mistake reveals nothing. A cache that
// cannot be read with the key is ignored, and the build starts cold.
//
// Only what a build used is saved: removed blocks and audiences leave the
// cache with it. The nil *Cache is valid and caches nothing.
type Cache struct {
	path string
	key  []byte

	mu  sync.Mutex
	old cacheData
	cur cacheData
	// added: cur holds an entry old has not (a new audience key, packet
	// or attachment); else cur is a part of old, and the whole if as big.
	added bool
	found bool // old was read from the file, which holds it
}

type cacheData struct {
	Version   int
	Audiences map[string]string // audience ID → age identity
	Packets   map[string][]byte // packetKey → ciphertext
	// Attachments are the packets of attachments by [attachmentPlace],
	// which are too large to keep here: the previous output holds them.
	Attachments map[string]attachmentRecord
}

// attachmentRecord is what the cache keeps of an attachment's packet: the
// version of the file sealed, and where and what the packet is.
type attachmentRecord struct {
	Content string // [attachmentContent] of the file sealed
	Packet  string // its output path
	Sum     [sha256.Size]byte
}

// cacheHeader is the first value of the cache file: everything but the
// packets, and how many packetEntry values follow. A file of an earlier
// version, one cacheData, decodes as a header of that version, and is not
// read on.
type cacheHeader struct {
	Version     int
	Audiences   map[string]string
	Attachments map[string]attachmentRecord
	Count       int
}

// packetEntry is a packet's ciphertext in the cache file, by packetKey.
type packetEntry struct {
	Key  string
	Data []byte
}

func newCacheData() cacheData {
	return cacheData{Version: cacheVersion, Audiences: map[string]string{}, Packets: map[string][]byte{}, Attachments: map[string]attachmentRecord{}}
}

// OpenCache reads the cache in dir (a site's .conclave folder) with key.
// A missing cache is empty. A cache that cannot be decrypted or decoded
// (another key, another version, damage) is empty too, and warning says
// why; err is for failures to read the file at all.
//
// A folder or cache file that is a symbolic link, or not a folder or a
// regular file, is an error located at it (".conclave" or
// ".conclave/seal.cache", by the folder's name): nothing is read through
// it, and the build stops rather than go on without its cache (see
// [RefusedCache]).
func OpenCache(dir string, key []byte) (c *Cache, warning string, err error) {
	if len(key) != cache.KeySize {
		return nil, "", fmt.Errorf("cache key must be %d bytes, not %d", cache.KeySize, len(key))
	}
	c = &Cache{path: filepath.Join(dir, CacheFile), key: bytes.Clone(key), old: newCacheData(), cur: newCacheData()}
	var d cacheData
	found, err := cache.LoadStream(c.path, key, func(dec *gob.Decoder) error {
		var h cacheHeader
		if err := dec.Decode(&h); err != nil {
			return err
		}
		d = cacheData{Version: h.Version, Audiences: h.Audiences, Attachments: h.Attachments}
		if h.Version != cacheVersion || h.Audiences == nil || h.Attachments == nil {
			return nil // refused below, the rest not read
		}
		d.Packets = make(map[string][]byte, h.Count)
		for range h.Count {
			var e packetEntry
			if err := dec.Decode(&e); err != nil {
				return err
			}
			d.Packets[e.Key] = e.Data
		}
		return nil
	})
	var bad *cache.UnreadableError
	switch {
	case errors.As(err, &bad):
	case err != nil:
		return nil, "", RefusedCache(dir, err)
	case !found:
		return c, "", nil
	case d.Version != cacheVersion:
		bad = &cache.UnreadableError{Reason: "written by another version of conclave"}
	case d.Audiences == nil || d.Packets == nil || d.Attachments == nil:
		bad = &cache.UnreadableError{Reason: "incomplete"}
	default:
		c.old, c.found = d, true
		return c, "", nil
	}
	return c, fmt.Sprintf("ignoring the seal cache %s (%v): every block is encrypted anew", c.path, bad), nil
}

// Save writes what this build used, replacing the cache file atomically.
// The folder is created with mode 0700 and the file with 0600. A folder
// or file that became a symbolic link since [OpenCache] is refused, and
// nothing is written. A build that used all the cache as read, and
// nothing else, leaves the file as it is.
func (c *Cache) Save() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.cur
	if c.unchanged() {
		return nil
	}
	return RefusedCache(filepath.Dir(c.path), cache.SaveStream(c.path, c.key, func(enc *gob.Encoder) error {
		if err := enc.Encode(cacheHeader{Version: d.Version, Audiences: d.Audiences, Attachments: d.Attachments, Count: len(d.Packets)}); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(d.Packets)) {
			if err := enc.Encode(packetEntry{k, d.Packets[k]}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// unchanged reports whether the cache as used is the cache as read, which
// its file holds: nothing added, and as many entries of each kind. The
// caller holds c.mu.
func (c *Cache) unchanged() bool {
	o, d := &c.old, &c.cur
	return c.found && !c.added && len(d.Audiences) == len(o.Audiences) && len(d.Packets) == len(o.Packets) && len(d.Attachments) == len(o.Attachments)
}

// RefusedCache turns a [*cache.RefusedError] about the cache folder dir or
// a file in it into a located error, as a [diag.List] of one: its path is
// the folder's name (".conclave") and the file's name in it. Other errors
// are returned as they are.
//
// Why the build stops rather than warn and build without the cache:
// conclave never makes a link or a special file there, so one is a mistake
// or a trap (a committed .conclave link that would have the build write
// its cache outside the site, in CI for instance, or a cache file linked
// to /dev/zero); going on quietly cold would also change every packet of
// the release. The fix is one command (remove it), or --no-cache.
func RefusedCache(dir string, err error) error {
	var r *cache.RefusedError
	if !errors.As(err, &r) {
		return err
	}
	rel := filepath.Base(dir)
	if r.Path != dir {
		rel += "/" + filepath.Base(r.Path)
	}
	return diag.List{diag.Errorf(filepath.ToSlash(rel), 0, "%s: the cache holds the audiences' keys, and conclave never reads or writes it through a link or in anything but a folder of regular files: "+
		"remove it (the next build makes it anew), or build with --no-cache", r.Reason)}
}

// audienceKey returns a's identity: the cached one, or a new one.
func (c *Cache) audienceKey(a *Audience) (age.Identity, age.Recipient, error) {
	var s string
	if c != nil {
		c.mu.Lock()
		s = c.old.Audiences[a.ID]
		c.mu.Unlock()
	}
	if s != "" {
		if id, r, err := parseIdentity(s); err == nil {
			c.mu.Lock()
			c.cur.Audiences[a.ID] = s
			c.mu.Unlock()
			return id, r, nil
		}
	}
	var (
		id age.Identity
		r  age.Recipient
	)
	if a.PostQuantum {
		k, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, nil, err
		}
		id, r, s = k, k.Recipient(), k.String()
	} else {
		k, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, nil, err
		}
		id, r, s = k, k.Recipient(), k.String()
	}
	if c != nil {
		c.mu.Lock()
		c.cur.Audiences[a.ID] = s
		c.added = true
		c.mu.Unlock()
	}
	return id, r, nil
}

func parseIdentity(s string) (age.Identity, age.Recipient, error) {
	if k, err := age.ParseX25519Identity(s); err == nil {
		return k, k.Recipient(), nil
	}
	k, err := age.ParseHybridIdentity(s)
	if err != nil {
		return nil, nil, err
	}
	return k, k.Recipient(), nil
}

func (c *Cache) packet(key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ct, ok := c.cur.Packets[key]; ok {
		return ct, true
	}
	if ct, ok := c.old.Packets[key]; ok {
		c.cur.Packets[key] = ct
		return ct, true
	}
	return nil, false
}

// putPacket records ct for key and returns the ciphertext now recorded:
// ct, or the one recorded first if the same block was sealed twice.
func (c *Cache) putPacket(key string, ct []byte) []byte {
	if c == nil {
		return ct
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.cur.Packets[key]; ok {
		return prev
	}
	c.cur.Packets[key] = ct
	c.added = true
	return ct
}

// Has reports whether the cache, as read, holds what a build needs to
// publish a recorded block again: its packet and its audience's key.
func (c *Cache) Has(r Record) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, packet := c.old.Packets[r.PacketKey]
	return packet && c.old.Audiences[r.Audience.ID] != ""
}

// attachment returns the record of the attachment sealed at place with
// the file's version content, if the last build sealed it.
func (c *Cache) attachment(place, content string) (attachmentRecord, bool) {
	if c == nil || content == "" {
		return attachmentRecord{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.old.Attachments[place]
	return r, ok && r.Content == content
}

// putAttachment records what this build sealed at place.
func (c *Cache) putAttachment(place string, r attachmentRecord) {
	if c == nil || r.Content == "" {
		return
	}
	c.mu.Lock()
	c.cur.Attachments[place] = r
	if c.old.Attachments[place] != r {
		c.added = true
	}
	c.mu.Unlock()
}
