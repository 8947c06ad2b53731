package open

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// encryptTo encrypts text with age to the recipient line pub (age or SSH).
// randomRecipients returns the public keys of n new X25519 identities.
func randomRecipients(t testing.TB, n int) []string {
	t.Helper()
	pubs := make([]string, n)
	for i := range pubs {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		pubs[i] = id.Recipient().String()
	}
	return pubs
}

func encryptTo(t testing.TB, text string, pubs ...string) []byte {
	t.Helper()
	var rs []age.Recipient
	for _, pub := range pubs {
		r, err := parseRecipient(pub)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rs...)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// parseRecipient parses an age or SSH public key line.
func parseRecipient(pub string) (age.Recipient, error) {
	switch {
	case strings.HasPrefix(pub, "age1pq1"):
		return age.ParseHybridRecipient(pub)
	case strings.HasPrefix(pub, "age1"):
		return age.ParseX25519Recipient(pub)
	}
	return agessh.ParseRecipient(pub)
}

// decryptWith decrypts an age file with ids.
func decryptWith(ids []age.Identity, data []byte) (string, error) {
	r, err := age.Decrypt(bytes.NewReader(data), ids...)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// mustOpen checks that ids decrypt a file encrypted to pub.
func mustOpen(t *testing.T, ids []age.Identity, pub string) {
	t.Helper()
	got, err := decryptWith(ids, encryptTo(t, "hello "+pub, pub))
	if err != nil || got != "hello "+pub {
		t.Errorf("decrypting a file for %.20s…: %q, %v", pub, got, err)
	}
}

// prompter answers passphrase prompts and counts them.
type prompter struct {
	answer string
	err    error
	asked  []string
}

func (p *prompter) prompt(msg string) ([]byte, error) {
	p.asked = append(p.asked, msg)
	if p.err != nil {
		return nil, p.err
	}
	return []byte(p.answer), nil
}

func TestParseIdentitiesAgeFile(t *testing.T) {
	x1, x2, pq := x25519Key(t), x25519Key(t), hybridKey(t)
	file := "# created: 2026-01-02T03:04:05Z\n# public key: " + x1.Public + "\n" + string(x1.Identity) +
		"\n   \n# a second device\r\n" + strings.TrimSpace(string(x2.Identity)) + "\r\n" +
		"  " + string(pq.Identity) // leading spaces, as someone may paste it
	ids, err := ParseIdentities("ids.txt", []byte(file), UI{Prompt: noPrompt(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("got %d identities, want 3", len(ids))
	}
	if _, ok := ids[2].(*age.HybridIdentity); !ok {
		t.Errorf("third identity is a %T, want *age.HybridIdentity", ids[2])
	}
	for _, k := range []key{x1, x2, pq} {
		mustOpen(t, ids, k.Public)
	}
	// Each one alone, as age-keygen writes it.
	for _, k := range []key{x1, pq} {
		mustOpen(t, parse(t, k.Identity), k.Public)
	}
}

func TestParseIdentitiesSSH(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(testing.TB, string) key
		want any
	}{
		{"ed25519", sshEd25519Key, &agessh.Ed25519Identity{}},
		{"rsa-2048", sshRSAKey, &agessh.RSAIdentity{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.key(t, "")
			ids := parse(t, k.Identity)
			if len(ids) != 1 || fmt.Sprintf("%T", ids[0]) != fmt.Sprintf("%T", tc.want) {
				t.Fatalf("got %T, want one %T", ids, tc.want)
			}
			mustOpen(t, ids, k.Public)
			// Windows line endings and surrounding blank lines are accepted.
			crlf := "\r\n" + strings.ReplaceAll(string(k.Identity), "\n", "\r\n")
			mustOpen(t, parse(t, []byte(crlf)), k.Public)
		})
	}
}

// TestParseIdentitiesSSHKeygen reads keys made by OpenSSH's own tool, in
// its default format, with and without a passphrase.
func TestParseIdentitiesSSHKeygen(t *testing.T) {
	keygen := testtool.Require(t, "ssh-keygen")
	dir := t.TempDir()
	for _, tc := range []struct{ typ, pass string }{
		{"ed25519", ""}, {"rsa", ""}, {"ed25519", "correct horse"}, {"rsa", "correct horse"},
	} {
		t.Run(tc.typ+"/"+map[bool]string{true: "passphrase", false: "plain"}[tc.pass != ""], func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("id_%s_%d", tc.typ, len(tc.pass)))
			args := []string{"-q", "-t", tc.typ, "-N", tc.pass, "-a", "4", "-C", "test", "-f", file}
			if tc.typ == "rsa" {
				args = append(args, "-b", "2048")
			}
			if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v\n%s", err, out)
			}
			p := &prompter{answer: tc.pass}
			ids, err := ParseIdentities(file, readFile(t, file), UI{Prompt: p.prompt})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.asked) != 0 {
				t.Errorf("asked for a passphrase before it was needed: %q", p.asked)
			}
			mustOpen(t, ids, strings.TrimSpace(string(readFile(t, file+".pub"))))
			if want := map[bool]int{true: 1, false: 0}[tc.pass != ""]; len(p.asked) != want {
				t.Errorf("asked %d times for a passphrase, want %d", len(p.asked), want)
			}
		})
	}
}

func TestParseIdentitiesSSHPassphrase(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(testing.TB, string) key
	}{{"ed25519", sshEd25519Key}, {"rsa-2048", sshRSAKey}} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.key(t, "s3cret pass")
			other := x25519Key(t)

			// Parsing never asks; a file for another key never asks.
			p := &prompter{answer: "s3cret pass"}
			ids, err := ParseIdentities("id_test", k.Identity, UI{Prompt: p.prompt})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decryptWith(ids, encryptTo(t, "x", other.Public)); !isNoMatch(err) {
				t.Errorf("decrypting a file for another key: %v, want no identity match", err)
			}
			if len(p.asked) != 0 {
				t.Fatalf("asked for a passphrase before a file was encrypted to the key: %q", p.asked)
			}

			// A file for the key asks once, and the key stays unlocked.
			mustOpen(t, ids, k.Public)
			mustOpen(t, ids, k.Public)
			if len(p.asked) != 1 || !strings.Contains(p.asked[0], "id_test") {
				t.Errorf("prompts: %q, want one naming id_test", p.asked)
			}

			// A wrong passphrase says so.
			p = &prompter{answer: "wrong"}
			ids, err = ParseIdentities("id_test", k.Identity, UI{Prompt: p.prompt})
			if err != nil {
				t.Fatal(err)
			}
			_, err = decryptWith(ids, encryptTo(t, "x", k.Public))
			if err == nil || err.Error() != "SSH key id_test: wrong passphrase" {
				t.Errorf("wrong passphrase: %v", err)
			}

			// A prompt that cannot ask passes its reason on.
			p = &prompter{err: errors.New("no terminal to ask on")}
			ids, _ = ParseIdentities("id_test", k.Identity, UI{Prompt: p.prompt})
			_, err = decryptWith(ids, encryptTo(t, "x", k.Public))
			if err == nil || !strings.Contains(err.Error(), "no terminal to ask on") {
				t.Errorf("failed prompt: %v", err)
			}
		})
	}
}

// scryptFile encrypts an identity file with a passphrase, as age -p does,
// with a low work factor to keep the test fast.
func scryptFile(t testing.TB, identity []byte, pass string, armored bool) []byte {
	t.Helper()
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	var b bytes.Buffer
	var dst io.Writer = &b
	var aw io.WriteCloser
	if armored {
		aw = armor.NewWriter(&b)
		dst = aw
	}
	w, err := age.Encrypt(dst, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(identity)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestParseIdentitiesPassphraseFile(t *testing.T) {
	x, pq := x25519Key(t), hybridKey(t)
	plain := append(append([]byte{}, x.Identity...), pq.Identity...)
	for _, armored := range []bool{false, true} {
		t.Run(fmt.Sprintf("armored=%v", armored), func(t *testing.T) {
			file := scryptFile(t, plain, "hunter2 hunter2", armored)
			p := &prompter{answer: "hunter2 hunter2"}
			ids, err := ParseIdentities("ids.age", file, UI{Prompt: p.prompt})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 2 || len(p.asked) != 1 || !strings.Contains(p.asked[0], "ids.age") {
				t.Fatalf("got %d identities after prompts %q; want 2 after one prompt naming the file", len(ids), p.asked)
			}
			mustOpen(t, ids, x.Public)
			mustOpen(t, ids, pq.Public)

			p = &prompter{answer: "hunter3"}
			_, err = ParseIdentities("ids.age", file, UI{Prompt: p.prompt})
			if err == nil || err.Error() != "ids.age: wrong passphrase" {
				t.Errorf("wrong passphrase: %v", err)
			}
			p = &prompter{err: errors.New("no terminal to ask on")}
			_, err = ParseIdentities("ids.age", file, UI{Prompt: p.prompt})
			if err == nil || !strings.Contains(err.Error(), "no terminal to ask on") {
				t.Errorf("failed prompt: %v", err)
			}
		})
	}

	// An age file that is not passphrase-protected (a keyring, a packet)
	// is not an identity file, and no passphrase is asked for.
	keyring := encryptTo(t, string(x.Identity), x25519Key(t).Public)
	_, err := ParseIdentities("ring.age", keyring, UI{Prompt: noPrompt(t)})
	if err == nil || !strings.Contains(err.Error(), "not one protected by a passphrase") {
		t.Errorf("age file for a key: %v", err)
	}

	// What it holds must be identities; its contents are not quoted.
	secretish := "AGE-SECRET-KEY-" + "1NOTAREALKEYBUTLOOKSLIKEONEQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	p := &prompter{answer: "pw"}
	_, err = ParseIdentities("ids.age", scryptFile(t, []byte(secretish+"\n"), "pw", false), UI{Prompt: p.prompt})
	if err == nil || !strings.Contains(err.Error(), "ids.age:1: malformed identity") || strings.Contains(err.Error(), secretish) {
		t.Errorf("bad identity inside: %v", err)
	}
}

func TestParseIdentitiesErrors(t *testing.T) {
	x, ssh := x25519Key(t), sshEd25519Key(t, "")
	secret := "AGE-SECRET-KEY-" + "1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	pemBody := "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
	// A real key cut short.
	block, _ := pem.Decode(ssh.Identity)
	block.Bytes = block.Bytes[:len(block.Bytes)/2]
	damaged := string(pem.EncodeToMemory(block))
	damagedBody := strings.Split(damaged, "\n")[1]
	for _, tc := range []struct {
		name, data, want string
		secrets          []string // must not appear in the message
	}{
		{"age public key", x.Public + "\n", "id.txt holds a public key, not an identity", nil},
		{"age public key after a comment", "# mine\n" + x.Public + "\n", "id.txt:2: a recipient (public key), not an identity", nil},
		{"ssh public key", ssh.Public + "\n", "id.txt holds a public key, not an identity: -i takes the private key (for SSH, the file without .pub)", nil},
		{"ecdsa public key", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= me\n", "holds a public key", nil},
		{"empty", "", "id.txt holds no identity", nil},
		{"only comments", "# nothing here\n\n", "id.txt holds no identity", nil},
		{"garbage", "# my keys\npassword: tr0ub4dor&3\n", "id.txt:2: not an age identity (want AGE-SECRET-" + "KEY-1…", []string{"tr0ub4dor"}},
		{"bad checksum", secret + "\n", "id.txt:1: malformed identity", []string{secret, "QQQQQQQQQQ"}},
		{"bad post-quantum key", "AGE-SECRET-KEY-" + "PQ-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n", "id.txt:1: malformed identity", []string{"QQQQQQQQQQ"}},
		{"lower case", strings.ToLower(strings.TrimSpace(string(x.Identity[strings.Index(string(x.Identity), "AGE"):]))) + "\n", "id.txt:1: not an age identity", []string{"age-secret-key-1"}},
		{"not UTF-8", "AGE-SECRET-" + "KEY-1\xff\xfe\n", "id.txt:1: not UTF-8 text", nil},
		{"long line", strings.Repeat("A", 2<<20), "id.txt: bufio.Scanner: token too long", []string{"AAAAAAAA"}},
		{"unknown PEM block", "-----BEGIN " + secret + "-----\n" + pemBody + "\n-----END " + secret + "-----\n", "id.txt: not an SSH private key", []string{secret, pemBody}},
		{"no PEM block", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + pemBody + "\n", "id.txt: not an SSH private key", []string{pemBody}},
		{"damaged OpenSSH key", damaged, "id.txt: not a usable SSH private key", []string{damagedBody}},
		{"damaged age file", "age-encryption.org/v1\n-> " + secret + "\n--- x\n", "id.txt: cannot decrypt this passphrase-protected identity file", []string{secret}},
		{"damaged armor", armor.Header + "\n" + secret + "\n" + armor.Footer + "\n", "id.txt: cannot decrypt", []string{secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &prompter{answer: "pw"}
			ids, err := ParseIdentities("id.txt", []byte(tc.data), UI{Prompt: p.prompt})
			if err == nil {
				t.Fatalf("got %d identities, want an error", len(ids))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error quotes the file's contents %q:\n%v", s, err)
				}
			}
			if len(p.asked) != 0 {
				t.Errorf("asked for a passphrase: %q", p.asked)
			}
		})
	}
}

// TestParseIdentitiesFromDisk reads an identity file from disk, as the
// CLI does.
func TestParseIdentitiesFromDisk(t *testing.T) {
	k := x25519Key(t)
	p := filepath.Join(t.TempDir(), "me.txt")
	if err := os.WriteFile(p, k.Identity, 0o600); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, parse(t, readFile(t, p)), k.Public)
}
