// Package cache stores what one build can reuse from the last, in files of
// the site's .conclave folder, never published: the sealing stage's audience
// keys and ciphertext, the build's record of each page.
//
// Those files hold secrets (audience keys, digests and fragments of
// restricted text), so each is encrypted and authenticated with
// XChaCha20-Poly1305 under one key kept outside the site ([LoadKey]): a
// cache copied, committed or published by mistake reveals nothing, and a
// cache that was altered is refused. A cache that cannot be read with the
// key (another key, another version, damage) is reported as an
// [*UnreadableError], and the build goes on without it.
package cache

import (
	"bytes"
	"crypto/cipher"
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

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a cache key in bytes.
const KeySize = chacha20poly1305.KeySize

// UnreadableError says why a cache file could not be used.
type UnreadableError struct{ Reason string }

func (e *UnreadableError) Error() string { return e.Reason }

// Load decrypts the file at path with key and decodes it into v, which
// must be a pointer. It reports false, leaving v as it was, if there is no
// file. A file that does not decrypt or decode gives an *UnreadableError;
// other errors are failures to read it at all.
func Load(path string, key []byte, v any) (bool, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return false, &UnreadableError{"too short"}
	}
	nonce, ct := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, []byte(filepath.Base(path)))
	if err != nil {
		return false, &UnreadableError{"it was written with another cache key, or damaged"}
	}
	if err := gob.NewDecoder(bytes.NewReader(plain)).Decode(v); err != nil {
		return false, &UnreadableError{fmt.Sprintf("unreadable: %v", err)}
	}
	return true, nil
}

// Save encodes v and writes it encrypted to path, replacing the file
// atomically. The folder is created with mode 0700 and the file with 0600.
// The file's name is bound to its contents: a cache file renamed to
// another's name does not decrypt.
func Save(path string, key []byte, v any) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	var plain bytes.Buffer
	if err := gob.NewEncoder(&plain).Encode(v); err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+plain.Len()+aead.Overhead())
	rand.Read(nonce)
	data := aead.Seal(nonce, nonce, plain.Bytes(), []byte(filepath.Base(path)))
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("cache key must be %d bytes, not %d", KeySize, len(key))
	}
	return chacha20poly1305.NewX(key)
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
