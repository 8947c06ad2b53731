package open

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
