package audience

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
	"filippo.io/hpke"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/diag"
)

// secretPrefix is built in two parts so that no source file holds what
// looks like an age secret key.
const secretPrefix = "AGE-SECRET-" + "KEY-"

// testKeys are public keys of every kind, with the identities of some, made
// once per test binary.
type testKeys struct {
	x25519, hybrid, tag, tagPQ, plugin string
	ed25519, rsa, rsa1024, ecdsa, skEd string
	x25519ID                           *age.X25519Identity
	hybridID                           *age.HybridIdentity
	ed25519ID, rsaID                   age.Identity
	x25519Secret, hybridSecret         string
}

var fixtures = sync.OnceValues(func() (*testKeys, error) { return makeKeys(true) })

func keysFor(t testing.TB) *testKeys {
	t.Helper()
	k, err := fixtures()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// makeKeys makes the keys; RSA ones only if withRSA, as making them takes
// long in a fuzzer's instrumented code.
func makeKeys(withRSA bool) (*testKeys, error) {
	var k testKeys
	var err error
	if k.x25519ID, err = age.GenerateX25519Identity(); err != nil {
		return nil, err
	}
	k.x25519, k.x25519Secret = k.x25519ID.Recipient().String(), k.x25519ID.String()
	if k.hybridID, err = age.GenerateHybridIdentity(); err != nil {
		return nil, err
	}
	k.hybrid, k.hybridSecret = k.hybridID.Recipient().String(), k.hybridID.String()

	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	raw := p256.PublicKey().Bytes() // uncompressed
	x, y := new(big.Int).SetBytes(raw[1:33]), new(big.Int).SetBytes(raw[33:])
	tr, err := tag.NewClassicRecipient(elliptic.MarshalCompressed(elliptic.P256(), x, y))
	if err != nil {
		return nil, err
	}
	k.tag = tr.String()
	hk, err := hpke.MLKEM768P256().GenerateKey()
	if err != nil {
		return nil, err
	}
	tpq, err := tag.NewHybridRecipient(hk.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	k.tagPQ = tpq.String()
	k.plugin = plugin.EncodeRecipient("yubikey", raw[:33])

	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if k.ed25519, err = authorized(edPub); err != nil {
		return nil, err
	}
	if k.ed25519ID, err = agessh.NewEd25519Identity(edPriv); err != nil {
		return nil, err
	}
	if withRSA {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		if k.rsa, err = authorized(&rsaKey.PublicKey); err != nil {
			return nil, err
		}
		if k.rsaID, err = agessh.NewRSAIdentity(rsaKey); err != nil {
			return nil, err
		}
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			return nil, err
		}
		if k.rsa1024, err = authorized(&small.PublicKey); err != nil {
			return nil, err
		}
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if k.ecdsa, err = authorized(&ec.PublicKey); err != nil {
		return nil, err
	}
	// A FIDO key: x/crypto/ssh parses them but cannot make one.
	var blob []byte
	for _, s := range [][]byte{[]byte(ssh.KeyAlgoSKED25519), edPub, []byte("ssh:")} {
		blob = append(blob, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
		blob = append(blob, s...)
	}
	k.skEd = ssh.KeyAlgoSKED25519 + " " + base64.StdEncoding.EncodeToString(blob)
	return &k, nil
}

// authorized returns pub in the authorized_keys format, without comment.
func authorized(pub any) (string, error) {
	p, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p))), nil
}

func TestParseKeysKinds(t *testing.T) {
	k := keysFor(t)
	tests := []struct {
		line     string
		kind     Kind
		typ      string
		text     string // "" means line
		pq       bool
		identity age.Identity
	}{
		{line: k.x25519, kind: X25519, typ: "x25519", identity: k.x25519ID},
		{line: k.hybrid, kind: Hybrid, typ: "mlkem768x25519", pq: true, identity: k.hybridID},
		{line: k.tag, kind: Tag, typ: "tag"},
		{line: k.tagPQ, kind: TagPQ, typ: "tagpq", pq: true},
		{line: k.plugin, kind: Plugin, typ: "plugin:yubikey"},
		{line: k.ed25519, kind: SSHEd25519, typ: "ssh-ed25519", identity: k.ed25519ID},
		{line: k.ed25519 + " alice@laptop", kind: SSHEd25519, typ: "ssh-ed25519", text: k.ed25519, identity: k.ed25519ID},
		{line: k.ed25519 + "\tcomment with  spaces ", kind: SSHEd25519, typ: "ssh-ed25519", text: k.ed25519},
		{line: k.rsa + " alice@old-laptop", kind: SSHRSA, typ: "ssh-rsa", text: k.rsa, identity: k.rsaID},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			data := "# alice's keys\n\n" + tt.line + "  \r\n"
			keys, err := ParseKeys("keys/alice.pub", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 {
				t.Fatalf("got %d keys, want 1", len(keys))
			}
			got := keys[0]
			want := tt.text
			if want == "" {
				want = tt.line
			}
			if got.Kind != tt.kind || got.Type() != tt.typ || got.Text != want || got.Line != 3 || got.PostQuantum != tt.pq || got.Recipient == nil {
				t.Errorf("got {%v %q %q line %d pq %v}, want {%v %q %q line 3 pq %v}", got.Kind, got.Type(), got.Text, got.Line, got.PostQuantum, tt.kind, tt.typ, want, tt.pq)
			}
			if tt.identity != nil {
				roundTrip(t, got.Recipient, tt.identity)
			}
		})
	}
}

// roundTrip checks that r encrypts a file that id decrypts.
func roundTrip(t *testing.T, r age.Recipient, id age.Identity) {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "for your eyes only")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := age.Decrypt(&buf, id)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := io.ReadAll(rd); string(out) != "for your eyes only" {
		t.Errorf("decrypted %q", out)
	}
}

func TestParseKeysSeveral(t *testing.T) {
	k := keysFor(t)
	data := "\uFEFF# laptop\r\n" + k.x25519 + "\r\n\r\n   # yubikey\r\n" + k.plugin + "\r\n" + k.ed25519 + " me@host\r\n"
	keys, err := ParseKeys("keys/alice.pub", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, key := range keys {
		got = append(got, key.Type()+"@"+string(rune('0'+key.Line)))
	}
	if s := strings.Join(got, " "); s != "x25519@2 plugin:yubikey@5 ssh-ed25519@6" {
		t.Errorf("keys = %s", s)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{X25519: "x25519", Hybrid: "mlkem768x25519", Tag: "tag", TagPQ: "tagpq", SSHEd25519: "ssh-ed25519", SSHRSA: "ssh-rsa", Plugin: "plugin", Passphrase: "passphrase", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestParseKeysErrors(t *testing.T) {
	k := keysFor(t)
	const f = "keys/alice.pub"
	const secretMsg = ", a SECRET key, not a public key: secrets must never be in keys/; delete the line and treat the key as exposed (make a new one, e.g. with 'conclave keys gen', and put only its public key here)"
	const sshSupported = "age encrypts to ssh-ed25519 keys and to ssh-rsa keys of 2048 bits or more: add one of those, or an age key (conclave keys gen NAME)"
	const unknown = "unknown key type: want an age public key (age1…), an SSH public key (ssh-ed25519 … or ssh-rsa …), or a plugin recipient (age1NAME1…), one a line"
	// A key with one character changed: the Bech32 checksum fails.
	typo := k.x25519[:10] + "q" + k.x25519[11:]
	if k.x25519[10] == 'q' {
		typo = k.x25519[:10] + "p" + k.x25519[11:]
	}
	tests := []struct {
		name, data string
		want       []string
	}{
		{"empty", "", []string{f + ": no keys: write the recipient's public keys in it, one a line (age1… or ssh-ed25519 …)"}},
		{"only comments", "# alice\n\n   \n# nothing yet\n", []string{f + ": no keys: write the recipient's public keys in it, one a line (age1… or ssh-ed25519 …)"}},
		{"unknown", "# ok\n" + k.x25519 + "\nhunter2 is my password\n", []string{f + ":3: " + unknown}},
		{"pem public key", "-----BEGIN PUBLIC KEY-----\n", []string{f + ":1: " + unknown}},
		{"age secret", "# created\n" + k.x25519Secret + "\n", []string{f + ":2: this line holds an age secret key" + secretMsg}},
		{"age secret lower case", k.x25519 + "\n" + strings.ToLower(k.x25519Secret) + "\n", []string{f + ":2: this line holds an age secret key" + secretMsg}},
		{"pq secret", k.hybridSecret + "\n", []string{f + ":1: this line holds an age secret key" + secretMsg}},
		{"secret in a comment", "# " + secretPrefix + "1QQQ\n" + k.x25519 + "\n", []string{f + ":1: this line holds an age secret key" + secretMsg}},
		{"putty", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n", []string{f + ":1: this line holds a PuTTY private key" + secretMsg}},
		{"plugin identity", k.x25519 + "\n\nAGE-PLUGIN-" + "YUBIKEY-1QQQQQ\n", []string{f + ":3: this line holds an age plugin identity" + secretMsg}},
		{"ssh private key, nothing else reported", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", []string{f + ":1: this line holds a PEM private key block" + secretMsg}},
		{"ecdsa", k.x25519 + "\n" + k.ecdsa + " bob@host\n", []string{f + `:2: unsupported SSH key type "ecdsa-sha2-nistp256": ` + sshSupported}},
		{"sk-ssh-ed25519", k.skEd + "\n", []string{f + `:1: unsupported SSH key type "sk-ssh-ed25519@openssh.com": ` + sshSupported}},
		{"rsa 1024", k.rsa1024 + " old\n", []string{f + ":1: ssh-rsa key of 1024 bits is too weak: age needs 2048 bits or more (make an ssh-ed25519 key instead: ssh-keygen -t ed25519)"}},
		{"ssh type only", "ssh-ed25519\n", []string{f + `:1: malformed SSH public key "ssh-ed25519": the key data is missing after the type`}},
		{"ssh bad data", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== me\n", []string{f + `:1: malformed SSH public key of type "ssh-ed25519" (its data does not decode to a key: a typo, or a truncated line?)`}},
		{"ssh type mismatch", strings.Replace(k.ed25519, "ssh-ed25519", "ssh-rsa", 1) + "\n", []string{f + `:1: malformed SSH public key: the line says "ssh-rsa", but the key is of type "ssh-ed25519"`}},
		{"ssh unknown type alone", "ssh-foo\n", []string{f + ":1: malformed SSH public key: the key data is missing after the type"}},
		{"ssh unknown type", "ssh-foo AAAA\n", []string{f + ":1: unsupported or malformed SSH public key: " + sshSupported}},
		{"ssh with options", "ssh-foo " + k.ed25519 + "\n", []string{f + ":1: malformed SSH public key: write the key type, the key and optionally a comment, without authorized_keys options"}},
		{"age typo", typo + "\n", []string{f + ":1: malformed age public key (invalid checksum: a typo, or a truncated line?)"}},
		{"age truncated", k.x25519[:40] + "\n", []string{f + ":1: malformed age public key (invalid checksum: a typo, or a truncated line?)"}},
		{"pq truncated", k.hybrid[:100] + "\n", []string{f + ":1: malformed age post-quantum public key (invalid checksum: a typo, or a truncated line?)"}},
		{"age wrong length", plugin.EncodeRecipient("pq", []byte("short")) + "\n", []string{f + ":1: malformed age post-quantum public key (it decodes, but not to a key of the right size: a truncated or joined line?)"}},
		{"tag wrong length", plugin.EncodeRecipient("tag", []byte("short")) + "\n", []string{f + ":1: malformed age tag public key (it decodes, but not to a key of the right size: a truncated or joined line?)"}},
		{"age upper case", strings.ToUpper(k.x25519) + "\n", []string{f + ":1: malformed age public key: age keys are written in lower case"}},
		{"age with comment", k.x25519 + " # laptop\n", []string{f + ":1: unexpected text after the age key: a comment goes on a line of its own, starting with #"}},
		{"duplicate", k.x25519 + "\n" + k.ed25519 + " a\n" + k.x25519 + "\n" + k.ed25519 + " b\n", []string{
			f + ":3: duplicate key: the same x25519 key is on line 1",
			f + ":4: duplicate key: the same ssh-ed25519 key is on line 2",
		}},
		{"not utf-8", k.x25519 + "\n# caf\xe9\n", []string{f + ":2:6: not valid UTF-8 text (save the file as UTF-8)"}},
		{"too long", strings.Repeat("a", maxLine+1), []string{f + ":1: line too long (8193 bytes; a key is at most 8192)"}},
		{"every problem", "x\n" + k.x25519 + "\ny\n", []string{f + ":1: " + unknown, f + ":3: " + unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeys(f, []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; keys %v", keys)
			}
			if keys != nil {
				t.Errorf("keys returned with an error: %v", keys)
			}
			if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			// Never quote the line: it might be a secret.
			for _, line := range strings.Split(tt.data, "\n") {
				if len(line) > 12 && strings.Contains(err.Error(), strings.TrimSpace(line)) {
					t.Errorf("the error quotes the line %q", line)
				}
			}
		})
	}
}

// errorLines returns the messages of err, which must be located errors
// (alone or in a diag.List).
func errorLines(t testing.TB, err error) []string {
	t.Helper()
	var list diag.List
	if !errors.As(err, &list) {
		list = diag.List{err}
	}
	var out []string
	for _, e := range list {
		var de *diag.Error
		if !errors.As(e, &de) {
			t.Errorf("not a located error: %v", e)
		}
		out = append(out, e.Error())
	}
	return out
}

func TestGenerateIdentity(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, pq := range []bool{false, true} {
		data, pub, err := GenerateIdentity(pq, now)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) != 4 || lines[0] != "# created: 2026-03-01T10:00:00Z" || lines[1] != "# public key: "+pub || lines[3] != "" {
			t.Errorf("identity file:\n%s", data)
		}
		// age reads the identity, and it decrypts what its public key
		// encrypts.
		ids, err := age.ParseIdentities(bytes.NewReader(data))
		if err != nil || len(ids) != 1 {
			t.Fatalf("age.ParseIdentities: %v, %d identities", err, len(ids))
		}
		keys, err := ParseKeys("keys/x.pub", []byte(pub))
		if err != nil {
			t.Fatal(err)
		}
		want := X25519
		if pq {
			want = Hybrid
		}
		if keys[0].Kind != want || keys[0].PostQuantum != pq {
			t.Errorf("pq=%v: public key of kind %v", pq, keys[0].Kind)
		}
		roundTrip(t, keys[0].Recipient, ids[0])
	}
}
