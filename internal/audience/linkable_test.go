package audience

import (
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

func TestKeyLinkable(t *testing.T) {
	k := keysFor(t)
	for _, tc := range []struct {
		line     string
		linkable bool
	}{
		{k.x25519, false},
		{k.hybrid, false},
		{"passphrase env:GUEST", false},
		{k.ed25519, true},
		{k.rsa, true},
		{k.tag, true},
		{k.tagPQ, true},
		{k.plugin, true},
	} {
		keys, err := ParseKeys("keys/x.pub", []byte(tc.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := keys[0].Linkable(); got != tc.linkable {
			t.Errorf("%s key: Linkable() = %t, want %t", keys[0].Type(), got, tc.linkable)
		}
	}
}

// A site that refuses linkable keys gets one located error for each, at
// its line, naming why and what to do; other keys, and recipients whose
// keys are all unlinkable, pass.
func TestRefuseLinkable(t *testing.T) {
	k := keysFor(t)
	root := testtool.WriteSite(t, "", map[string]string{
		"keys/alice.pub":   "# laptop\n" + k.x25519 + "\n" + k.hybrid + "\n",
		"keys/bob.pub":     "# bob\n" + k.ed25519 + " bob@host\n\n" + k.rsa + "\n",
		"keys/carol.pub":   k.tag + "\n",
		"keys/guest.pub":   "passphrase env:GUEST\n",
		"keys/yubi.pub":    "# yubikey\n" + k.plugin + "\n",
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\n",
	})
	reg, err := Load(root, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const setting = "conclave.toml:4 sets [seal] linkable = false"
	err = reg.RefuseLinkable(setting)
	got := errorLines(t, err)
	want := []string{
		"keys/bob.pub:2: ssh-ed25519 key is linkable: age writes a 4-byte tag of an SSH public key in every file encrypted to it",
		"keys/bob.pub:4: ssh-rsa key is linkable: age writes a 4-byte tag of an SSH public key in every file encrypted to it",
		"keys/carol.pub:1: tag key is linkable: age writes a 4-byte tag of a tagged key in every file encrypted to it",
		"keys/yubi.pub:2: plugin:yubikey key is linkable: a plugin's files may carry a tag of its key",
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%s", strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("error %d = %q, want it to start with %q", i, got[i], w)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(w[:strings.Index(w, ":")], "keys/"), ".pub")
		for _, part := range []string{
			"so anyone who has this public key can tell which keyring is " + name + "'s",
			setting,
			"give " + name + " an age key instead (conclave keys gen " + name + " --add, then delete this line), or allow linkable keys with linkable = true",
		} {
			if !strings.Contains(got[i], part) {
				t.Errorf("error %d = %q, want it to say %q", i, got[i], part)
			}
		}
	}

	// Without linkable keys: no error.
	clean := testtool.WriteSite(t, "", map[string]string{"keys/alice.pub": k.x25519 + "\n", "keys/guest.pub": "passphrase env:GUEST\n"})
	reg, err = Load(clean, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.RefuseLinkable(setting); err != nil {
		t.Errorf("no linkable key: %v", err)
	}
}
