package audience

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// guestPass is a passphrase that no message may quote.
const guestPass = "canary-Tr0ub4dor-horse-staple"

func TestParseKeysPassphrase(t *testing.T) {
	k := keysFor(t)
	tests := []struct {
		name, line, text, env string
	}{
		{"plain", "passphrase env:GUEST_PASS", "passphrase env:GUEST_PASS", "GUEST_PASS"},
		{"spacing", "  passphrase \t  env:G1  ", "passphrase env:G1", "G1"},
		{"underscore first", "passphrase env:_X", "passphrase env:_X", "_X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeys("keys/guest.pub", []byte("# a guest\n"+k.x25519+"\n"+tt.line+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2 {
				t.Fatalf("%d keys, want 2", len(keys))
			}
			got := keys[1]
			if got.Kind != Passphrase || got.Type() != "passphrase" || got.Text != tt.text || got.Env != tt.env || got.Line != 3 || got.PostQuantum {
				t.Errorf("got %+v", got)
			}
			// ParseKeys reads no environment: the key is not resolved.
			if got.Recipient != nil || got.Passphrase() != "" || got.ID() != got.Text {
				t.Errorf("ParseKeys resolved the key: %+v", got)
			}
			again, err := ParseKeys("keys/guest.pub", []byte(got.Text))
			if err != nil || len(again) != 1 || again[0].Text != got.Text {
				t.Errorf("round trip: %v, %v", again, err)
			}
		})
	}
}

func TestParseKeysPassphraseErrors(t *testing.T) {
	const f = "keys/guest.pub"
	const syntax = "a passphrase is never written in keys/: name the environment variable that holds it at build time: passphrase env:NAME"
	const badName = "passphrase env:NAME: the variable name is not valid: write upper-case letters, digits and _, not starting with a digit (e.g. passphrase env:GUEST_PASSPHRASE)"
	tests := []struct {
		name, data string
		want       []string
	}{
		{"the passphrase itself", "passphrase " + guestPass + "\n", []string{f + ":1: " + syntax}},
		{"with a colon", "# guest\npassphrase: " + guestPass + "\n", []string{f + ":2: " + syntax}},
		{"with equals", "passphrase=" + guestPass + "\n", []string{f + ":1: " + syntax}},
		{"password", "password " + guestPass + "\n", []string{f + ":1: " + syntax}},
		{"upper case", "PASSPHRASE env:GUEST\n", []string{f + ":1: " + syntax}},
		{"alone", "passphrase\n", []string{f + ":1: " + syntax}},
		{"empty name", "passphrase env:\n", []string{f + ":1: " + badName}},
		{"lower-case name", "passphrase env:" + guestPass + "\n", []string{f + ":1: " + badName}},
		{"digit first", "passphrase env:1PASS\n", []string{f + ":1: " + badName}},
		{"dash", "passphrase env:GUEST-PASS\n", []string{f + ":1: " + badName}},
		{"trailing text", "passphrase env:GUEST " + guestPass + "\n", []string{f + ":1: unexpected text after passphrase env:NAME: a comment goes on a line of its own, starting with #"}},
		{"duplicate", "passphrase env:GUEST\npassphrase  env:GUEST\npassphrase env:OTHER\n", []string{f + ":2: duplicate key: the same passphrase key is on line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeys(f, []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; keys %v", keys)
			}
			if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if strings.Contains(err.Error(), "canary") || strings.Contains(err.Error(), "Tr0ub4dor") {
				t.Errorf("the error quotes the passphrase: %v", err)
			}
		})
	}
}

// env is a Getenv for tests.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadPassphrase(t *testing.T) {
	k := keysFor(t)
	root := testtool.WriteSite(t, "", map[string]string{
		"keys/alice.pub":   k.x25519 + "\n",
		"keys/guest.pub":   "# a guest without keys\n\npassphrase env:GUEST_PASS\n",
		"keys/vendor.pub":  k.hybrid + "\npassphrase env:VENDOR_PASS\n",
		"keys/groups.toml": "guests = [\"guest\", \"vendor\"]\n",
	})
	vars := map[string]string{"GUEST_PASS": guestPass, "VENDOR_PASS": "another long passphrase"}
	r, err := Load(root, LoadOptions{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	guest, _ := r.Recipient("guest")
	if len(guest.Keys) != 1 {
		t.Fatalf("guest has %d keys", len(guest.Keys))
	}
	g := guest.Keys[0]
	if g.Kind != Passphrase || g.Env != "GUEST_PASS" || g.Line != 3 || g.Passphrase() != guestPass {
		t.Errorf("guest's key: %+v", g)
	}
	if strings.Contains(g.Text, guestPass) || strings.Contains(g.ID(), guestPass) || !strings.HasPrefix(g.ID(), g.Text+" ") {
		t.Errorf("Text %q, ID %q", g.Text, g.ID())
	}
	sr, ok := g.Recipient.(*age.ScryptRecipient)
	if !ok {
		t.Fatalf("recipient is a %T", g.Recipient)
	}
	// The file opens with the passphrase, and its stanza has the work
	// factor the browser can afford.
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, sr)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("for your eyes only"))
	w.Close()
	if !bytes.Contains(buf.Bytes(), []byte("\n-> scrypt ")) || !bytes.Contains(buf.Bytes(), []byte(" 16\n")) {
		t.Errorf("header:\n%s", buf.Bytes()[:bytes.Index(buf.Bytes(), []byte("\n---"))])
	}
	id, err := age.NewScryptIdentity(guestPass)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, sr, id)

	// A new passphrase in the same variable is a new key.
	vars["GUEST_PASS"] = guestPass + "-new"
	r2, err := Load(root, LoadOptions{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	guest2, _ := r2.Recipient("guest")
	if g2 := guest2.Keys[0]; g2.Text != g.Text || g2.ID() == g.ID() {
		t.Errorf("the same key text with another passphrase: IDs %q and %q", g.ID(), g2.ID())
	}
	vendor, _ := r2.Recipient("vendor")
	if len(vendor.Keys) != 2 || vendor.Keys[1].Passphrase() != "another long passphrase" || vendor.Keys[0].Kind != Hybrid {
		t.Errorf("vendor's keys: %+v", vendor.Keys)
	}
}

// Listing recipients and auditing need no secret: without Getenv,
// passphrase keys load unresolved, whether their variables are set or not.
func TestLoadPassphraseUnresolved(t *testing.T) {
	root := testtool.WriteSite(t, "", map[string]string{"keys/guest.pub": "passphrase env:GUEST_PASS\n"})
	r, err := Load(root, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	guest, _ := r.Recipient("guest")
	if g := guest.Keys[0]; g.Kind != Passphrase || g.Recipient != nil || g.Passphrase() != "" {
		t.Errorf("guest's key: %+v", g)
	}
}

func TestLoadPassphraseErrors(t *testing.T) {
	const tooShort = "is too short for a keyring that anyone can download and guess at offline: use at least 12 characters (4 or more random words are recommended)"
	tests := []struct {
		name  string
		files map[string]string
		vars  map[string]string
		want  []string
	}{
		{"unset", map[string]string{"keys/guest.pub": "# guest\npassphrase env:GUEST_PASS\n"}, nil, []string{
			"keys/guest.pub:2: passphrase env:GUEST_PASS: the environment variable GUEST_PASS is not set: set it when you build (never in the repository)",
		}},
		{"empty", map[string]string{"keys/guest.pub": "passphrase env:GUEST_PASS\n"}, map[string]string{"GUEST_PASS": ""}, []string{
			"keys/guest.pub:1: passphrase env:GUEST_PASS: the environment variable GUEST_PASS is not set: set it when you build (never in the repository)",
		}},
		{"too short", map[string]string{"keys/guest.pub": "passphrase env:GUEST_PASS\n"}, map[string]string{"GUEST_PASS": "canary-éé11"}, []string{
			"keys/guest.pub:1: passphrase env:GUEST_PASS: the passphrase in GUEST_PASS " + tooShort,
		}},
		{"not utf-8", map[string]string{"keys/guest.pub": "passphrase env:GUEST_PASS\n"}, map[string]string{"GUEST_PASS": "canary-\xff\xfe-long-enough"}, []string{
			"keys/guest.pub:1: passphrase env:GUEST_PASS: the passphrase in GUEST_PASS is not valid UTF-8 text: a reader could not type it",
		}},
		{"shared passphrase", map[string]string{
			"keys/a.pub": "passphrase env:A_PASS\n",
			"keys/b.pub": "# b\npassphrase env:B_PASS\n",
		}, map[string]string{"A_PASS": guestPass, "B_PASS": guestPass}, []string{
			"keys/b.pub:2: passphrase env:B_PASS: B_PASS holds the same passphrase as A_PASS (keys/a.pub:1): give each passphrase key a passphrase of its own",
		}},
		{"shared variable", map[string]string{
			"keys/a.pub": "passphrase env:GUEST_PASS\n",
			"keys/b.pub": "passphrase env:GUEST_PASS\n",
		}, map[string]string{"GUEST_PASS": guestPass}, []string{
			"keys/b.pub:1: the same passphrase key as keys/a.pub:1: each recipient needs keys of their own (use a group for people who read the same)",
		}},
		{"every problem", map[string]string{
			"keys/a.pub": "passphrase env:A_PASS\n",
			"keys/b.pub": "passphrase env:B_PASS\n",
			"keys/c.pub": "passphrase env:C_PASS\n",
		}, map[string]string{"B_PASS": "canary"}, []string{
			"keys/a.pub:1: passphrase env:A_PASS: the environment variable A_PASS is not set: set it when you build (never in the repository)",
			"keys/b.pub:1: passphrase env:B_PASS: the passphrase in B_PASS " + tooShort,
			"keys/c.pub:1: passphrase env:C_PASS: the environment variable C_PASS is not set: set it when you build (never in the repository)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(testtool.WriteSite(t, "", tt.files), LoadOptions{Getenv: env(tt.vars)})
			if err == nil {
				t.Fatal("no error")
			}
			if r != nil {
				t.Error("a registry returned with an error")
			}
			if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, v := range tt.vars {
				if v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("the error quotes the passphrase: %v", err)
				}
			}
			if strings.Contains(err.Error(), "canary") {
				t.Errorf("the error quotes the passphrase: %v", err)
			}
		})
	}
}

// TestLoadTooManyPassphrases: a site holds at most
// format.MaxPassphraseKeyrings passphrase keys, the most a reader tries a
// passphrase on; the first past them is named, whether or not the
// passphrases are set.
func TestLoadTooManyPassphrases(t *testing.T) {
	files := map[string]string{}
	for i := range format.MaxPassphraseKeyrings {
		files[fmt.Sprintf("keys/g%d.pub", i)] = fmt.Sprintf("passphrase env:G%d\n", i)
	}
	root := testtool.WriteSite(t, "", files)
	if _, err := Load(root, LoadOptions{}); err != nil {
		t.Fatalf("%d passphrase keys: %v", format.MaxPassphraseKeyrings, err)
	}
	testtool.WriteSite(t, root, map[string]string{"keys/g9.pub": "# guest 9\npassphrase env:G9\n"})
	_, err := Load(root, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "keys/g9.pub:2: passphrase env:G9: more than 8 passphrase keys in keys/") {
		t.Errorf("%d passphrase keys: %v", format.MaxPassphraseKeyrings+1, err)
	}
}
