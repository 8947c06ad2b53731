package audience

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

func TestLoad(t *testing.T) {
	k := keysFor(t)
	root := testtool.WriteSite(t, "", map[string]string{
		"conclave.toml":         "title = \"x\"\n",
		"keys/alice.pub":        "# laptop\n" + k.x25519 + "\n# yubikey\n" + k.plugin + "\n",
		"keys/bob.pub":          k.ed25519 + " bob@host\n" + k.hybrid + "\n",
		"keys/cisco-psirt.pub":  k.tagPQ + "\n",
		"keys/groups.toml":      "board = [\"alice\", \"bob\"]\nall = [\"board\", \"cisco-psirt\"]\n",
		"keys/.DS_Store":        "\x00\x01",
		"keys/README.md":        "Public keys only.\n",
		"keys/README":           "Public keys only.\n",
		"keys/alice.pub~":       "an editor backup",
		"keys/#alice.pub#":      "an editor autosave",
		"keys/.hidden/x.pub":    "ignored",
		"content/whatever.md":   "not read",
		"keys/.alice.pub.swp":   "\x00",
		"keys/juniper.pub~":     "AGE-PLUGIN-" + "X-1",
		"keys/old/.placeholder": "",
	})
	// A folder of hidden files only is still a folder in keys/.
	if err := os.RemoveAll(filepath.Join(root, "keys/old")); err != nil {
		t.Fatal(err)
	}
	r, err := Load(root, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range r.Recipients() {
		var types []string
		for _, key := range rec.Keys {
			types = append(types, key.Type())
		}
		got = append(got, rec.Name+"("+rec.File+":"+strings.Join(types, ",")+")")
	}
	if s := strings.Join(got, " "); s != "alice(keys/alice.pub:x25519,plugin:yubikey) bob(keys/bob.pub:ssh-ed25519,mlkem768x25519) cisco-psirt(keys/cisco-psirt.pub:tagpq)" {
		t.Errorf("recipients = %s", s)
	}
	all, err := r.Expand([]string{"all"})
	if err != nil || strings.Join(all, ",") != "alice,bob,cisco-psirt" {
		t.Errorf("Expand(all) = %v, %v", all, err)
	}
}

func TestLoadNoKeys(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no keys folder":   {"conclave.toml": "title = \"x\"\n"},
		"empty keys":       {"keys/.gitkeep": ""},
		"only groups file": {"keys/groups.toml": "# none yet\n"},
	} {
		r, err := Load(testtool.WriteSite(t, "", files), LoadOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(r.Recipients()) != 0 || len(r.Groups()) != 0 {
			t.Errorf("%s: registry not empty", name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	k := keysFor(t)
	root := testtool.WriteSite(t, "", map[string]string{
		"keys/alice.pub":       k.x25519 + "\n",
		"keys/bob.pub":         "# bob\n" + k.ed25519 + "\nnot a key\n",
		"keys/carol.pub":       "# copied from alice by mistake\n" + k.x25519 + "\n",
		"keys/dave.pub":        "",
		"keys/Eve.pub":         k.hybrid + "\n",
		"keys/alice.txt":       "# created: 2026-01-01\n# public key: " + k.x25519 + "\n" + k.x25519Secret + "\n",
		"keys/notes.md":        "Keys go here.\n",
		"keys/readme.txt":      "An example, pasted by mistake:\n" + k.x25519Secret + "\n",
		"keys/old/frank.pub":   k.x25519 + "\n",
		"keys/groups.toml":     "board = [\"alice\", \"bob\", \"junper\"]\n\nloop = [\"loop2\"]\nloop2 = [\"loop\"]\ncarol = [\"alice\"]\n",
		"keys/grace.pub":       k.ecdsa + "\n",
		"keys/ident.pub":       "AGE-PLUGIN-" + "YUBIKEY-1QQQ\n",
		"keys/juniper.pub":     "",
		"keys/unicode.pub":     "# \xff\n",
		"keys/heidi.pub":       k.rsa1024 + "\n",
		"content/briefing.md":  "x",
		"keys/x.pub.orig":      "",
		"keys/empty-lines.pub": "\n\n\n",
	})
	outside := filepath.Join(t.TempDir(), "outside.pub")
	if err := os.WriteFile(outside, []byte(k.x25519+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "keys/ivan.pub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere.pub", filepath.Join(root, "keys/judy.pub")); err != nil {
		t.Fatal(err)
	}
	r, err := Load(root, LoadOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	if r != nil {
		t.Error("a registry returned with an error")
	}
	const noKeys = ": no keys: write the recipient's public keys in it, one a line (age1… or ssh-ed25519 …)"
	want := []string{
		"keys/Eve.pub: recipient name \"Eve\": want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (rename the file)",
		"keys/alice.txt:3: holds an age secret key, a SECRET key: secrets must never be in keys/; move it out of the site and treat the key as exposed (make a new one, and put only its public key in keys/NAME.pub)",
		"keys/bob.pub:3: unknown key type: want an age public key (age1…), an SSH public key (ssh-ed25519 … or ssh-rsa …), or a plugin recipient (age1NAME1…), one a line",
		"keys/carol.pub:2: the same x25519 key as keys/alice.pub:1: each recipient needs keys of their own (use a group for people who read the same)",
		"keys/dave.pub" + noKeys,
		"keys/empty-lines.pub" + noKeys,
		"keys/grace.pub:1: unsupported SSH key type \"ecdsa-sha2-nistp256\": age encrypts to ssh-ed25519 keys and to ssh-rsa keys of 2048 bits or more: add one of those, or an age key (conclave keys gen NAME)",
		"keys/groups.toml:1: group \"board\": unknown member \"junper\" (did you mean \"juniper\"?)",
		"keys/groups.toml:3: group cycle: loop → loop2 → loop (a group cannot contain itself)",
		"keys/groups.toml:5: group \"carol\" has the name of a recipient (keys/carol.pub): rename one of them",
		"keys/heidi.pub:1: ssh-rsa key of 1024 bits is too weak: age needs 2048 bits or more (make an ssh-ed25519 key instead: ssh-keygen -t ed25519)",
		"keys/ident.pub:1: this line holds an age plugin identity, a SECRET key, not a public key: secrets must never be in keys/; delete the line and treat the key as exposed (make a new one, e.g. with 'conclave keys gen', and put only its public key here)",
		"keys/ivan.pub: symbolic link leaves the site (points to " + outside + "); copy the file into the site instead",
		"keys/judy.pub: broken symbolic link: no such file or directory",
		"keys/juniper.pub" + noKeys,
		"keys/notes.md: not a keys file: keys/ holds only NAME.pub files of public keys, groups.toml and a README (if this file is an identity, it is a secret: move it out of the site)",
		"keys/old: a folder in keys/: put every NAME.pub file directly in keys/",
		"keys/readme.txt:2: holds an age secret key, a SECRET key: secrets must never be in keys/; move it out of the site and treat the key as exposed (make a new one, and put only its public key in keys/NAME.pub)",
		"keys/unicode.pub:1:3: not valid UTF-8 text (save the file as UTF-8)",
		"keys/x.pub.orig: not a keys file: keys/ holds only NAME.pub files of public keys, groups.toml and a README (if this file is an identity, it is a secret: move it out of the site)",
	}
	if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadSymlinkInside(t *testing.T) {
	k := keysFor(t)
	root := testtool.WriteSite(t, "", map[string]string{"people/alice.pub": k.x25519 + "\n"})
	if err := os.Mkdir(filepath.Join(root, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../people/alice.pub", filepath.Join(root, "keys/alice.pub")); err != nil {
		t.Fatal(err)
	}
	r, err := Load(root, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Recipient("alice"); !ok {
		t.Error("alice not loaded through a symbolic link")
	}
}

func TestLoadKeysNotAFolder(t *testing.T) {
	_, err := Load(testtool.WriteSite(t, "", map[string]string{"keys": "age1..."}), LoadOptions{})
	if err == nil || err.Error() != "keys: not a directory" {
		t.Errorf("Load = %v", err)
	}
}
