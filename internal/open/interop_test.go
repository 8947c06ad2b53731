package open

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestAgeCLI reads a built site the way DESIGN §4 promises a recipient
// with nothing but the age CLI can: try the keyrings with one's identity
// until one opens, then decrypt packets with it. Each recipient opens
// exactly one keyring, and with it exactly the packets of the blocks
// meant for them. The age CLI on the test machine may predate
// post-quantum keys (Debian's 1.1.1): all keys here are classic.
func TestAgeCLI(t *testing.T) {
	ageCmd := testtool.Require(t, "age")
	tmp := t.TempDir()
	sam := sshEd25519Key(t, "")
	keys := map[string][]key{"alice": {x25519Key(t)}, "bob": {x25519Key(t)}, "carol": {x25519Key(t)}, "sam": {sam}}
	// Blocks, the word each holds, and who may read them.
	blocks := []struct {
		to, text string
		readers  []string
	}{
		{"board", "TEXT-BOARD", []string{"alice", "bob"}},
		{"staff", "TEXT-STAFF", []string{"alice", "bob", "carol", "sam"}},
		{"carol", "TEXT-CAROL", []string{"carol"}},
		{"alice,sam", "TEXT-ALICE-SAM", []string{"alice", "sam"}},
	}
	var md strings.Builder
	md.WriteString("---\ntitle: X\ntlp: amber\n---\n\nPublic.\n\n")
	for _, b := range blocks {
		md.WriteString("::: restricted to=" + b.to + " tlp=amber\n" + b.text + ".\n:::\n\n")
	}
	site := buildSite(t, siteFiles{
		// Two groups, one holding the other.
		"keys/groups.toml":       "board = [\"alice\", \"bob\"]\nstaff = [\"board\", \"carol\", \"sam\"]\n",
		"content/briefings/x.md": md.String(),
	}.withKeys(keys))
	pk := packets(readFile(t, filepath.Join(site, "briefings", "x", "index.html")))
	if len(pk) != len(blocks) {
		t.Fatalf("%d packets for %d blocks", len(pk), len(blocks))
	}
	rings := keyrings(t, site)
	if len(rings) != len(keys) {
		t.Fatalf("%d keyrings for %d recipients", len(rings), len(keys))
	}

	decrypt := func(identity, file string) ([]byte, bool) {
		cmd := exec.Command(ageCmd, "-d", "-i", identity, file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			// age says why; "no identity matched" is the expected refusal.
			if !strings.Contains(stderr.String(), "no identity matched any of the recipients") {
				t.Errorf("age -d -i %s %s: %v\n%s", filepath.Base(identity), filepath.Base(file), err, stderr.Bytes())
			}
			return nil, false
		}
		return out, true
	}

	for name, ks := range keys {
		t.Run(name, func(t *testing.T) {
			id := filepath.Join(tmp, name+".key")
			if err := os.WriteFile(id, ks[0].Identity, 0o600); err != nil {
				t.Fatal(err)
			}
			var ring string
			opened := 0
			for i, k := range rings {
				plain, ok := decrypt(id, k)
				if !ok {
					continue
				}
				opened++
				ring = filepath.Join(tmp, name+".ring"+string(rune('0'+i)))
				if err := os.WriteFile(ring, plain, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if opened != 1 {
				t.Fatalf("%s's identity opens %d keyrings, want 1", name, opened)
			}
			for i, b := range blocks {
				plain, ok := decrypt(ring, filepath.Join(site, filepath.FromSlash(pk[i])))
				if want := slices.Contains(b.readers, name); ok != want {
					t.Errorf("block to=%s: opens with %s's keyring: %v, want %v", b.to, name, ok, want)
				}
				if ok && !bytes.Contains(plain, []byte(b.text)) {
					t.Errorf("block to=%s: the packet does not hold %s:\n%s", b.to, b.text, plain)
				}
				for _, other := range blocks {
					if other.text != b.text && bytes.Contains(plain, []byte(other.text+".")) {
						t.Errorf("block to=%s: the packet holds another block's %s", b.to, other.text)
					}
				}
			}
		})
	}
}

// TestAgeCLIPassphrase reads a guest's passages the way the README tells a
// guest with only the age CLI to: "age -d" on the passphrase keyrings
// (those whose header has an scrypt stanza) asks for the passphrase, and
// the guest's keyring opens with it; the other guest's does not. The age
// CLI reads a passphrase only from a terminal: script(1) gives it one,
// fed from standard input. The keyring then opens the guest's packets,
// with the age CLI if it reads post-quantum keys (age 1.3 or later: the
// guest-only audience's key is post-quantum), else with age's Go package.
func TestAgeCLIPassphrase(t *testing.T) {
	ageCmd := testtool.Require(t, "age")
	scriptCmd := testtool.Require(t, "script")
	tmp := t.TempDir()
	site := guestSite(t, newPeople(t, "alice", "bob", "carol"))

	// ageTTY runs "age -d -o OUT FILE" on a terminal, typing pass.
	ageTTY := func(file, out, pass string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, scriptCmd, "-qec", shellQuote(ageCmd)+" -d -o "+shellQuote(out)+" "+shellQuote(file), "/dev/null")
		cmd.Stdin = strings.NewReader(pass + "\n")
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		err := cmd.Run()
		if err != nil && !strings.Contains(output.String(), "incorrect passphrase") {
			t.Logf("age -d %s: %v\n%s", filepath.Base(file), err, output.Bytes())
		}
		return err
	}

	var ring []byte
	tried := 0
	for i, k := range keyrings(t, site) {
		if !bytes.Contains(readFile(t, k), []byte("\n-> scrypt ")) {
			continue
		}
		tried++
		out := filepath.Join(tmp, fmt.Sprintf("ring%d.txt", i))
		if ageTTY(k, out, guestPass) != nil {
			continue
		}
		if ring != nil {
			t.Fatal("the guest's passphrase opens two keyrings")
		}
		ring = readFile(t, out)
	}
	if tried != 2 || ring == nil {
		t.Fatalf("%d passphrase keyrings, and none opens with the guest's passphrase", tried)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(ring))
	if err != nil || len(ids) != 2 {
		t.Fatalf("the guest's keyring holds %d keys (%v), want 2", len(ids), err)
	}

	page := readFile(t, filepath.Join(site, "briefings", "g", "index.html"))
	pk := packets(page)
	ringFile := filepath.Join(tmp, "guest-ring.txt")
	if err := os.WriteFile(ringFile, ring, 0o600); err != nil {
		t.Fatal(err)
	}
	cliPQ := ageReadsPostQuantum(t, ageCmd)
	for i, want := range []string{guestsText, guestCText} {
		file := filepath.Join(site, filepath.FromSlash(pk[i]))
		var plain []byte
		if cliPQ || !bytes.Contains(ring, []byte(secretPrefix+"PQ-1")) {
			if plain, err = exec.Command(ageCmd, "-d", "-i", ringFile, file).Output(); err != nil {
				t.Errorf("age -d -i ring %s: %v", pk[i], err)
			}
		} else {
			rd, err := age.Decrypt(bytes.NewReader(readFile(t, file)), ids...)
			if err != nil {
				t.Fatalf("%s: %v", pk[i], err)
			}
			var b bytes.Buffer
			b.ReadFrom(rd)
			plain = b.Bytes()
		}
		if !bytes.Contains(plain, []byte(want)) {
			t.Errorf("%s does not hold %s", pk[i], want)
		}
	}
	if !cliPQ {
		t.Log("this age CLI predates post-quantum keys: the guest's packets were checked with age's Go package")
	}
}

// ageReadsPostQuantum reports whether the age CLI is 1.3 or later.
func ageReadsPostQuantum(t *testing.T, ageCmd string) bool {
	out, err := exec.Command(ageCmd, "--version").Output()
	if err != nil {
		t.Fatalf("age --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 1 || major == 1 && minor >= 3
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
