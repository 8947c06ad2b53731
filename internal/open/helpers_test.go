package open

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// key is one recipient key made for a test: the line for keys/NAME.pub and
// the identity file that reads with it.
type key struct {
	Public   string
	Identity []byte
}

func x25519Key(t testing.TB) key {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return key{id.Recipient().String(), []byte("# test identity\n" + id.String() + "\n")}
}

func hybridKey(t testing.TB) key {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return key{id.Recipient().String(), []byte(id.String() + "\n")}
}

// sshEd25519Key makes an OpenSSH ed25519 key pair; a non-empty passphrase
// encrypts the private key.
func sshEd25519Key(t testing.TB, passphrase string) key {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey(t, pub, priv, passphrase)
}

// rsaKeys caches one RSA-2048 key: making one takes a while.
var rsaKeys = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func sshRSAKey(t testing.TB, passphrase string) key {
	t.Helper()
	priv, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	return sshKey(t, &priv.PublicKey, priv, passphrase)
}

func sshKey(t testing.TB, pub, priv any, passphrase string) key {
	t.Helper()
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test key", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return key{strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))), pem.EncodeToMemory(block)}
}

// siteFiles is a site source: conclave.toml, keys/ and content/.
type siteFiles map[string]string

// withKeys adds keys/NAME.pub for every recipient.
func (f siteFiles) withKeys(keys map[string][]key) siteFiles {
	for name, ks := range keys {
		var b strings.Builder
		b.WriteString("# test keys\n")
		for _, k := range ks {
			b.WriteString(k.Public + "\n")
		}
		f["keys/"+name+".pub"] = b.String()
	}
	return f
}

// buildSite builds the site files in a temporary folder and returns its
// output folder.
func buildSite(t testing.TB, files siteFiles) string {
	t.Helper()
	src := t.TempDir()
	if _, ok := files["conclave.toml"]; !ok {
		files["conclave.toml"] = "title = \"T\"\n"
	}
	testtool.WriteSite(t, src, files)
	out := filepath.Join(src, "public")
	if _, err := build.Run(build.Options{Source: src, Out: out}); err != nil {
		t.Fatalf("building the test site: %v", err)
	}
	return out
}

// parse reads identity files as ParseIdentities does, with no prompt.
func parse(t testing.TB, files ...[]byte) []age.Identity {
	t.Helper()
	var ids []age.Identity
	for i, data := range files {
		got, err := ParseIdentities("id"+string(rune('0'+i)), data, UI{Prompt: noPrompt(t)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ids
}

func noPrompt(t testing.TB) func(string) ([]byte, error) {
	return func(msg string) ([]byte, error) {
		t.Errorf("unexpected prompt: %s", msg)
		return nil, errors.New("no prompt in this test")
	}
}

var packetRef = regexp.MustCompile(`data-packet="(packets/[0-9a-f]{32}\.age)"`)

// packets lists the packet paths a page names, in order.
func packets(page []byte) []string {
	var out []string
	for _, m := range packetRef.FindAllSubmatch(page, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// keyrings lists the keyring files of a built site.
func keyrings(t testing.TB, site string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(site, "packets", "keyrings"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(site, "packets", "keyrings", e.Name()))
	}
	slices.Sort(out)
	return out
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func containsAll(b []byte, subs ...string) bool {
	for _, s := range subs {
		if !bytes.Contains(b, []byte(s)) {
			return false
		}
	}
	return true
}
