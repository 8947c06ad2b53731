package cache

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

type value struct {
	Version int
	Secret  string
	Parts   map[string][]byte
}

func TestSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site", ".conclave")
	path := filepath.Join(dir, "x.cache")
	var v value
	if found, err := Load(path, testKey(1), &v); found || err != nil {
		t.Fatalf("missing file: %v %v", found, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("Load made the folder")
	}
	in := value{Version: 3, Secret: "Embargoed detail", Parts: map[string][]byte{"a": []byte("x")}}
	if err := Save(path, testKey(1), in); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("file mode %v in a folder of mode %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte("Embargoed")) {
		t.Error("the file holds its contents in clear")
	}
	var out value
	if found, err := Load(path, testKey(1), &out); !found || err != nil || out.Secret != in.Secret || string(out.Parts["a"]) != "x" {
		t.Fatalf("Load = %v %v %+v", found, err, out)
	}
	// A second save replaces the file by renaming a new one over it.
	if err := Save(path, testKey(1), in); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(path)
	if os.SameFile(fi, fi2) {
		t.Error("Save wrote over the old file instead of replacing it")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %v", entries)
	}
	if err := Save(path, testKey(1)[:16], in); err == nil || err.Error() != "cache key must be 32 bytes, not 16" {
		t.Errorf("short key: %v", err)
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.cache")
	if err := Save(path, testKey(1), value{Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	renamed := filepath.Join(dir, "y.cache")
	os.WriteFile(renamed, good, 0o600)
	for _, tc := range []struct {
		name, path string
		data       []byte
		key        []byte
		want       string
	}{
		{"another key", path, good, testKey(2), "it was written with another cache key, or damaged"},
		{"empty", path, nil, testKey(1), "too short"},
		{"truncated to the nonce", path, good[:24], testKey(1), "too short"},
		{"truncated by one byte", path, good[:len(good)-1], testKey(1), "another cache key, or damaged"},
		{"magic flipped", path, flip(0), testKey(1), "written by an earlier version of conclave"},
		{"an earlier format (a nonce first)", path, good[len(magic):], testKey(1), "written by an earlier version of conclave"},
		{"nonce flipped", path, flip(len(magic)), testKey(1), "another cache key, or damaged"},
		{"ciphertext flipped", path, flip(len(good) / 2), testKey(1), "another cache key, or damaged"},
		{"tag flipped", path, flip(len(good) - 1), testKey(1), "another cache key, or damaged"},
		{"renamed", renamed, good, testKey(1), "another cache key, or damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == path {
				os.WriteFile(path, tc.data, 0o600)
			}
			var v value
			_, err := Load(tc.path, tc.key, &v)
			var bad *UnreadableError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want an UnreadableError saying %q", err, tc.want)
			}
		})
	}
	// A file that cannot be read at all is another error.
	os.Remove(path)
	os.Mkdir(path, 0o700)
	var v value
	_, err := Load(path, testKey(1), &v)
	var bad *UnreadableError
	if err == nil || errors.As(err, &bad) {
		t.Errorf("a folder in the cache's place: %v", err)
	}
}

func TestLoadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config", "conclave", "cache.key")
	key, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize || bytes.Equal(key, make([]byte, KeySize)) {
		t.Fatalf("key = %x", key)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("key file mode %v in a folder of mode %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if string(data) != hex.EncodeToString(key)+"\n" {
		t.Errorf("key file holds %q", data)
	}
	again, err := LoadKey(path)
	if err != nil || !bytes.Equal(again, key) {
		t.Errorf("LoadKey again = %x, %v; want %x", again, err, key)
	}
	// Each new file gets its own key.
	other, err := LoadKey(filepath.Join(filepath.Dir(path), "other.key"))
	if err != nil || bytes.Equal(other, key) {
		t.Errorf("a second key file: %x, %v", other, err)
	}
	// A key written by hand, in base64.
	b64 := filepath.Join(t.TempDir(), "b64.key")
	os.WriteFile(b64, []byte(base64.StdEncoding.EncodeToString(testKey(3))+"\n"), 0o600)
	if k, err := LoadKey(b64); err != nil || !bytes.Equal(k, testKey(3)) {
		t.Errorf("base64 key file: %x, %v", k, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("not a key\n"), 0o600)
	if _, err := LoadKey(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": not a cache key") {
		t.Errorf("bad key file: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	key := testKey(0xab)
	key[0] = 0x01
	for _, s := range []string{
		hex.EncodeToString(key),
		strings.ToUpper(hex.EncodeToString(key)),
		"  " + hex.EncodeToString(key) + "\n",
		base64.StdEncoding.EncodeToString(key),
		base64.StdEncoding.EncodeToString(key) + "\r\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{
		"",
		hex.EncodeToString(key[:31]),
		hex.EncodeToString(append(key, 0)),
		hex.EncodeToString(key)[:63],
		base64.StdEncoding.EncodeToString(key[:31]),
		base64.StdEncoding.EncodeToString(append(key, 0)),
		base64.RawStdEncoding.EncodeToString(key[:24]),
		strings.Repeat("z", 64),
		"0x" + hex.EncodeToString(key),
	} {
		got, err := ParseKey(s)
		if err == nil {
			t.Errorf("ParseKey(%q) = %x, want an error", s, got)
			continue
		}
		if want := "not a cache key: want 32 bytes in hex (64 digits) or base64, such as the output of: openssl rand -hex 32"; err.Error() != want {
			t.Errorf("ParseKey(%q): %v", s, err)
		}
		if s != "" && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Errorf("the error quotes the key")
		}
	}
}

// Builds started together on a machine without a key agree on one key.
func TestLoadKeyConcurrent(t *testing.T) {
	for range 20 {
		path := filepath.Join(t.TempDir(), "cache.key")
		keys := make([][]byte, 8)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() { keys[i], errs[i] = LoadKey(path) })
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("LoadKey %d: %v", i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("LoadKey %d returned another key", i)
			}
		}
	}
}
