package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// CacheFile is the cache's file name in the site's .conclave folder.
const CacheFile = "seal.cache"

// KeySize is the size of a cache key in bytes.
const KeySize = chacha20poly1305.KeySize

// cacheVersion changes whenever the cache's contents change meaning.
const cacheVersion = 1

// Cache keeps what a build sealed, so that the next build can reuse it:
// the audience keys, and the ciphertext of every packet and keyring by a
// digest of its audience and plaintext. Unchanged blocks then keep their
// packets byte for byte, and a deploy uploads only what changed.
//
// The cache holds secrets (the audience keys, and digests of restricted
// text), so its file is encrypted and authenticated with XChaCha20-Poly1305
// under a key kept outside the site (see [LoadKey]): a cache that is
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
}

type cacheData struct {
	Version   int
	Audiences map[string]string // audience ID → age identity
	Packets   map[string][]byte // packetKey → ciphertext
	Keyrings  map[string][]byte
}

func newCacheData() cacheData {
	return cacheData{Version: cacheVersion, Audiences: map[string]string{}, Packets: map[string][]byte{}, Keyrings: map[string][]byte{}}
}

// OpenCache reads the cache in dir (a site's .conclave folder) with key.
// A missing cache is empty. A cache that cannot be decrypted or decoded
// (another key, another version, damage) is empty too, and warning says
// why; err is for failures to read the file at all.
func OpenCache(dir string, key []byte) (c *Cache, warning string, err error) {
	if len(key) != KeySize {
		return nil, "", fmt.Errorf("cache key must be %d bytes, not %d", KeySize, len(key))
	}
	c = &Cache{path: filepath.Join(dir, CacheFile), key: bytes.Clone(key), old: newCacheData(), cur: newCacheData()}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	old, err := c.decode(data)
	if err != nil {
		return c, fmt.Sprintf("ignoring the seal cache %s (%v): every block is encrypted anew", c.path, err), nil
	}
	c.old = old
	return c, "", nil
}

func (c *Cache) decode(data []byte) (cacheData, error) {
	aead, err := chacha20poly1305.NewX(c.key)
	if err != nil {
		return cacheData{}, err
	}
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return cacheData{}, errors.New("too short")
	}
	nonce, ct := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, []byte(CacheFile))
	if err != nil {
		return cacheData{}, errors.New("it was written with another cache key, or damaged")
	}
	var d cacheData
	if err := gob.NewDecoder(bytes.NewReader(plain)).Decode(&d); err != nil {
		return cacheData{}, fmt.Errorf("unreadable: %v", err)
	}
	if d.Version != cacheVersion {
		return cacheData{}, fmt.Errorf("written by another version of conclave")
	}
	if d.Audiences == nil || d.Packets == nil || d.Keyrings == nil {
		return cacheData{}, errors.New("incomplete")
	}
	return d, nil
}

// Save writes what this build used, replacing the cache file atomically.
// The folder is created with mode 0700 and the file with 0600.
func (c *Cache) Save() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	var plain bytes.Buffer
	err := gob.NewEncoder(&plain).Encode(c.cur)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	aead, err := chacha20poly1305.NewX(c.key)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+plain.Len()+aead.Overhead())
	rand.Read(nonce)
	data := aead.Seal(nonce, nonce, plain.Bytes(), []byte(CacheFile))
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, CacheFile+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
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

func (c *Cache) packet(key string) ([]byte, bool) { return c.lookup(key, false) }

func (c *Cache) keyring(key string) ([]byte, bool) { return c.lookup(key, true) }

func (c *Cache) lookup(key string, keyring bool) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, old := c.cur.Packets, c.old.Packets
	if keyring {
		cur, old = c.cur.Keyrings, c.old.Keyrings
	}
	if ct, ok := cur[key]; ok {
		return ct, true
	}
	if ct, ok := old[key]; ok {
		cur[key] = ct
		return ct, true
	}
	return nil, false
}

// putPacket records ct for key and returns the ciphertext now recorded:
// ct, or the one another goroutine recorded first.
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
	return ct
}

func (c *Cache) putKeyring(key string, ct []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cur.Keyrings[key] = ct
	c.mu.Unlock()
}

// LoadKey reads the cache key from path, a file holding it in hex, and
// creates the file (mode 0600, folders 0700) with a new random key if it
// does not exist. The key belongs outside the site, e.g. in the user's
// configuration folder, so that the cache and its key are never copied
// together.
func LoadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, KeySize)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		err := createKeyFile(path, key)
		if errors.Is(err, fs.ErrExist) {
			return LoadKey(path) // another build made it first
		}
		if err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes key to a new file at path, which appears with its
// contents at once: a build that starts meanwhile reads the whole key, not
// an empty file. It fails with fs.ErrExist if path exists.
func createKeyFile(path string, key []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = fmt.Fprintf(f, "%s\n", hex.EncodeToString(key))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// A hard link, unlike a rename, never replaces a key another build
	// wrote first.
	err = os.Link(f.Name(), path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// A file system without hard links: create the file in place.
	k, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(k, "%s\n", hex.EncodeToString(key))
	if cerr := k.Close(); err == nil {
		err = cerr
	}
	return err
}

// ParseKey reads a cache key written in hex (64 digits) or base64, as in
// the environment variable CONCLAVE_CACHE_KEY.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == KeySize {
		return k, nil
	}
	return nil, fmt.Errorf("not a cache key: want %d bytes in hex (%d digits) or base64, such as the output of: openssl rand -hex %d", KeySize, 2*KeySize, KeySize)
}
