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
//
// The folder and its files are never reached through a symbolic link, and
// are regular files: conclave makes neither links nor anything else there,
// so one is a mistake or a trap (a committed ".conclave" link to a folder
// outside the site, a "seal.cache" link to /dev/zero or to another user's
// file). Load and Save refuse them with a [*RefusedError], without reading
// or writing anything through them.
package cache

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mathrand "math/rand/v2"
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

// RefusedError is a cache folder or file that conclave does not read or
// write: a symbolic link, or something other than a folder or a regular
// file. Path is the path as given to [Load] or [Save], or its folder.
type RefusedError struct {
	Path   string
	Reason string // "a symbolic link (to /elsewhere)", "not a regular file"
}

func (e *RefusedError) Error() string { return e.Path + ": " + e.Reason }

// refused returns the *RefusedError for path if info is not a kind
// wanted: a folder (dir) or a regular file.
func refused(path string, info fs.FileInfo, dir bool) error {
	mode := info.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		reason := "a symbolic link"
		if target, err := os.Readlink(path); err == nil {
			reason += " (to " + target + ")"
		}
		return &RefusedError{Path: path, Reason: reason}
	case dir && !mode.IsDir():
		return &RefusedError{Path: path, Reason: "not a folder"}
	case !dir && !mode.IsRegular():
		return &RefusedError{Path: path, Reason: "not a regular file"}
	}
	return nil
}

// openDir opens the cache folder dir as an os.Root, after checking that
// it is a folder and not a symbolic link, and that the folder opened is the
// one checked. It returns nil, nil if dir does not exist.
func openDir(dir string) (*os.Root, error) {
	info, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := refused(dir, info, true); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if now, err := root.Stat("."); err != nil || !os.SameFile(info, now) {
		root.Close()
		return nil, &RefusedError{Path: dir, Reason: "replaced while it was opened (by a symbolic link?)"}
	}
	return root, nil
}

// LoadStream decrypts the file at path with key, a file [SaveStream]
// wrote, and gives its values to decode to read in turn. It reports
// false, reading nothing, if there is no file. A file that does not
// decrypt, or that decode fails on, gives an *UnreadableError; a folder
// or file that is a symbolic link, or not a folder or regular file, a
// *RefusedError; other errors are failures to read it at all.
func LoadStream(path string, key []byte, decode func(*gob.Decoder) error) (bool, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return false, err
	}
	f, err := openFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	o, err := newOpener(f, aead, filepath.Base(path))
	if err != nil {
		return false, err
	}
	err = decode(gob.NewDecoder(o))
	if err == nil {
		// The rest, which decode did not need, must open too.
		_, err = io.Copy(io.Discard, o)
	}
	var unreadable *UnreadableError
	if errors.As(err, &unreadable) {
		return false, unreadable
	}
	if err != nil {
		return false, &UnreadableError{fmt.Sprintf("unreadable: %v", err)}
	}
	return true, nil
}

// openFile opens the cache file at path, which must be a regular file in a
// folder, neither of them a symbolic link.
func openFile(path string) (*os.File, error) {
	root, err := openDir(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, fs.ErrNotExist
	}
	defer root.Close()
	base := filepath.Base(path)
	info, err := root.Lstat(base)
	if err != nil {
		return nil, err
	}
	if err := refused(path, info, false); err != nil {
		return nil, err
	}
	f, err := root.Open(base)
	if err != nil {
		return nil, err
	}
	if now, err := f.Stat(); err != nil || !os.SameFile(info, now) {
		f.Close()
		return nil, &RefusedError{Path: path, Reason: "replaced while it was opened (by a symbolic link?)"}
	}
	return f, nil
}

// SaveStream writes the values encode gives, encrypted, to path,
// replacing the file atomically. The folder is created with mode 0700 and
// the file with 0600. The file's name is bound to its contents: a cache
// file renamed to another's name does not decrypt. A folder or file at
// path that is a symbolic link, or not a folder or regular file, gives a
// *RefusedError, and nothing is written.
//
// gob holds the encoding of one value at a time: a cache of many values
// (the records of 50,000 pages) is never held whole, and the file is
// sealed and written a chunk at a time (see chunks.go).
func SaveStream(path string, key []byte, encode func(*gob.Encoder) error) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	root, err := openDir(dir)
	if err == nil && root == nil {
		if err = os.MkdirAll(dir, 0o700); err == nil {
			root, err = openDir(dir)
		}
	}
	if err != nil {
		return err
	}
	if root == nil {
		return fmt.Errorf("%s: the folder vanished as it was made", dir)
	}
	defer root.Close()
	if info, err := root.Lstat(base); err == nil {
		if err := refused(path, info, false); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// A new file beside the old one, renamed over it: os.Root never
	// follows a link out of the folder, and O_EXCL never opens one.
	var f *os.File
	var tmp string
	for range 100 {
		tmp = fmt.Sprintf("%s.tmp-%x", base, mathrand.Uint64())
		f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	w, err := newSealer(f, aead, base)
	if err == nil {
		if err = encode(gob.NewEncoder(w)); err == nil {
			err = w.Close()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, base)
	}
	if err != nil {
		root.Remove(tmp)
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
