package audience

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/secret"
	"github.com/conclave-dev/conclave/internal/site"
)

// Kind is the type of a recipient's public key.
type Kind int

const (
	X25519     Kind = iota + 1 // age X25519, "age1…"
	Hybrid                     // age post-quantum hybrid ML-KEM-768 + X25519, "age1pq1…"
	Tag                        // tagged P-256 (for hardware keys), "age1tag1…"
	TagPQ                      // tagged hybrid ML-KEM-768 + P-256, "age1tagpq1…"
	SSHEd25519                 // "ssh-ed25519 …"
	SSHRSA                     // "ssh-rsa …", 2048 bits or more
	Plugin                     // another plugin's recipient, "age1NAME1…"
	// Passphrase is a passphrase held in an environment variable at build
	// time, "passphrase env:NAME": for a guest without keys.
	Passphrase
)

var kindNames = map[Kind]string{
	X25519:     "x25519",
	Hybrid:     "mlkem768x25519",
	Tag:        "tag",
	TagPQ:      "tagpq",
	SSHEd25519: "ssh-ed25519",
	SSHRSA:     "ssh-rsa",
	Plugin:     "plugin",
	Passphrase: "passphrase",
}

// String returns the short name of the kind: "x25519", "mlkem768x25519"
// (post-quantum hybrid), "tag", "tagpq", "ssh-ed25519", "ssh-rsa",
// "plugin" or "passphrase".
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Key is one public key of a recipient, as read from a line of its .pub file.
//
// A [Passphrase] key is a line "passphrase env:NAME": the passphrase is
// never in the site, but in the environment variable NAME when the site
// is built. [ParseKeys] leaves such a key unresolved (Recipient nil);
// [Load] resolves it when given the environment.
type Key struct {
	Kind Kind
	// Text is the key as written, without an SSH comment: "age1…" or
	// "ssh-ed25519 AAAA…", or "passphrase env:NAME" (never the passphrase
	// itself). Parsing it again gives the same key.
	Text string
	// Line is the 1-based line of the key in its .pub file.
	Line int
	// PostQuantum is true for Hybrid and TagPQ keys.
	PostQuantum bool
	// Plugin is the plugin's name for Plugin keys ("yubikey" for
	// "age1yubikey1…"), whose program is age-plugin-NAME.
	Plugin string
	// Env is the environment variable that holds a Passphrase key's
	// passphrase at build time.
	Env string
	// Recipient is ready to encrypt to. A plugin recipient runs its plugin
	// only when it wraps a file key, and does so without a user interface:
	// the plugin's messages are dropped and its requests for input fail.
	// For a Passphrase key it is an *age.ScryptRecipient with work factor
	// [ScryptWorkFactor], set only once [Load] resolved the passphrase; nil
	// before.
	Recipient age.Recipient

	// passphrase is a resolved Passphrase key's passphrase: a secret.
	passphrase string
}

// Passphrase returns the passphrase of a Passphrase key that [Load]
// resolved, or "". It is a SECRET: never print, log or publish it.
func (k Key) Passphrase() string { return k.passphrase }

// ID identifies the key in digests that must change when the key does
// (audience IDs, cache keys): its Text, and for a resolved Passphrase key
// also a domain-separated SHA-256 of the passphrase, so that a new
// passphrase in the same variable is a new key. An ID goes only into
// digests kept in the encrypted cache, never into the output or a message:
// a plain hash of a passphrase is far cheaper to guess at than the scrypt
// keyring.
func (k Key) ID() string {
	if k.Kind != Passphrase || k.passphrase == "" {
		return k.Text
	}
	sum := sha256.Sum256([]byte("conclave passphrase v1\x00" + k.passphrase))
	return k.Text + " " + hex.EncodeToString(sum[:])
}

// Type is the key's kind as people read it: the [Kind]'s name, or
// "plugin:NAME" for a plugin key.
func (k Key) Type() string {
	if k.Kind == Plugin {
		return "plugin:" + k.Plugin
	}
	return k.Kind.String()
}

// maxLine is the longest line a .pub file may hold, as in age and sshd(8).
// A hybrid post-quantum key is about 2 KB.
const maxLine = 8 << 10

// MaxKeys is the most keys a recipient may have in its .pub file. Each
// keyring is one age file encrypted to all of one recipient's keys of one
// kind (classic or post-quantum; see seal's splitKeys), one stanza per
// key, and age refuses to read a file of more than 1,024 stanzas: a
// recipient with more keys would get a keyring nobody can open. 64 is far
// more than anyone's laptops, phones and hardware keys, and keeps
// keyrings, which are all padded to the size of the largest, small.
const MaxKeys = 64

// maxRSABits is the largest RSA key accepted, as in OpenSSH.
const maxRSABits = 16384

// ParseKeys parses the contents of one .pub file: one public key a line,
// with blank lines and lines starting with "#" ignored. file is the slash
// path used in messages, such as "keys/alice.pub".
//
// Every problem is reported, as a [diag.List] of errors located at their
// line. A line that cannot be parsed is never quoted, since it might be a
// secret pasted by mistake. If the file holds a secret key anywhere, even in
// a comment, only the secrets are reported.
func ParseKeys(file string, data []byte) ([]Key, error) {
	keys, err := parseKeys(file, data)
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// parseKeys is ParseKeys, but returns the keys it could parse along with
// the error.
func parseKeys(file string, data []byte) ([]Key, error) {
	if err := site.CheckText(file, data); err != nil {
		return nil, err
	}
	var errs, secrets diag.List
	var keys []Key
	seen := map[string]int{}
	tooMany := false // a key past MaxKeys was reported
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimSpace(line)
		if err := secretLine(file, n, line); err != nil {
			secrets.Add(err)
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if len(line) > maxLine {
			errs.Add(diag.Errorf(file, n, "line too long (%d bytes; a key is at most %d)", len(line), maxLine))
			continue
		}
		k, err := parseKey(line)
		if err != nil {
			errs.Add(&diag.Error{File: file, Line: n, Msg: err.Error()})
			continue
		}
		k.Line = n
		if prev, ok := seen[k.Text]; ok {
			errs.Add(diag.Errorf(file, n, "duplicate key: the same %s key is on line %d", k.Type(), prev))
			continue
		}
		seen[k.Text] = n
		if len(keys) == MaxKeys {
			if !tooMany {
				tooMany = true
				errs.Add(diag.Errorf(file, n, "too many keys: a recipient has at most %d (its keyring is encrypted to all its keys, and age opens no file of more than 1,024); "+
					"remove keys no longer used, or give each member of a team keys of their own and the team a group (keys/groups.toml)", MaxKeys))
			}
			continue
		}
		keys = append(keys, k)
	}
	if len(secrets) > 0 {
		return nil, secrets.Err()
	}
	if len(keys) == 0 && len(errs) == 0 {
		errs.Add(noKeys(file))
	}
	return keys, errs.Err()
}

// CountKeys returns how many keys the contents of a .pub file hold, up to
// [MaxKeys]: the lines that parse as keys, each key once.
func CountKeys(data []byte) int {
	keys, _ := parseKeys("", data)
	return len(keys)
}

func noKeys(file string) error {
	return diag.Errorf(file, 0, "no keys: write the recipient's public keys in it, one a line (age1… or ssh-ed25519 …)")
}

// secretLine reports a line that holds private key material, in any case
// (Bech32 is case-insensitive, so a lower-cased age identity still works).
func secretLine(file string, n int, line string) error {
	_, what, ok := secret.Find([]byte(line))
	if !ok {
		_, what, ok = secret.Find([]byte(strings.ToUpper(line)))
	}
	if !ok {
		return nil
	}
	return diag.Errorf(file, n, "this line holds %s, a SECRET key, not a public key: secrets must never be in keys/; "+
		"delete the line and treat the key as exposed (make a new one, e.g. with 'conclave keys gen', and put only its public key here)", what)
}

// parseKey parses one line that is not blank or a comment. Its errors are
// not located, and never quote the line.
func parseKey(line string) (Key, error) {
	switch {
	case isPassphraseLine(line):
		return parsePassphrase(line)
	case strings.HasPrefix(line, "age1"):
		return parseAgeKey(line)
	case isSSHType(firstField(line)):
		return parseSSHKey(line)
	case strings.HasPrefix(strings.ToLower(line), "age1"):
		return Key{}, errors.New("malformed age public key: age keys are written in lower case")
	}
	return Key{}, errors.New("unknown key type: want an age public key (age1…), an SSH public key (ssh-ed25519 … or ssh-rsa …), " +
		"or a plugin recipient (age1NAME1…), one a line")
}

// nonInteractiveUI is the user interface of plugin recipients: builds run
// unattended.
func nonInteractiveUI() *plugin.ClientUI {
	fail := errors.New("conclave runs plugins without a user interface")
	return &plugin.ClientUI{
		DisplayMessage: func(name, message string) error { return nil },
		RequestValue:   func(name, prompt string, secret bool) (string, error) { return "", fail },
		Confirm:        func(name, prompt, yes, no string) (bool, error) { return false, fail },
	}
}

func parseAgeKey(s string) (Key, error) {
	if strings.ContainsAny(s, " \t") {
		return Key{}, errors.New("unexpected text after the age key: a comment goes on a line of its own, starting with #")
	}
	k := Key{Text: s}
	var err error
	switch {
	case strings.HasPrefix(s, "age1tag1") || strings.HasPrefix(s, "age1tagpq1"):
		var r *tag.Recipient
		if r, err = tag.ParseRecipient(s); err == nil {
			k.Recipient, k.Kind = r, Tag
			if r.Hybrid() {
				k.Kind, k.PostQuantum = TagPQ, true
			}
		}
	case strings.HasPrefix(s, "age1pq1"):
		k.Kind, k.PostQuantum = Hybrid, true
		k.Recipient, err = age.ParseHybridRecipient(s)
	case strings.Count(s, "1") > 1:
		// Parsing a plugin recipient does not run the plugin.
		var r *plugin.Recipient
		if r, err = plugin.NewRecipient(s, nonInteractiveUI()); err == nil {
			k.Recipient, k.Kind, k.Plugin = r, Plugin, r.Name()
		}
	default:
		k.Kind = X25519
		k.Recipient, err = age.ParseX25519Recipient(s)
	}
	if err != nil {
		return Key{}, malformedAge(s)
	}
	return k, nil
}

// malformedAge describes what is wrong with an age key string that does not
// parse, without quoting it.
func malformedAge(s string) error {
	what := "age public key"
	switch {
	case strings.HasPrefix(s, "age1tagpq1"):
		what = "age tagpq public key"
	case strings.HasPrefix(s, "age1tag1"):
		what = "age tag public key"
	case strings.HasPrefix(s, "age1pq1"):
		what = "age post-quantum public key"
	case strings.Count(s, "1") > 1:
		what = "age plugin recipient"
	}
	// plugin.ParseRecipient checks the Bech32 encoding of any age key and
	// describes a problem without quoting the key.
	_, _, err := plugin.ParseRecipient(s)
	if err != nil {
		if reason, ok := strings.CutPrefix(err.Error(), "invalid recipient encoding: "); ok {
			return fmt.Errorf("malformed %s (%s: a typo, or a truncated line?)", what, reason)
		}
		if strings.HasPrefix(err.Error(), "invalid plugin name") {
			return fmt.Errorf("malformed %s (invalid plugin name)", what)
		}
	}
	return fmt.Errorf("malformed %s (it decodes, but not to a key of the right size: a truncated or joined line?)", what)
}

// ScryptWorkFactor is the scrypt work factor (log2 N) of passphrase
// keyrings. A keyring is published, so anyone may download it and guess
// passphrases offline: each guess costs one scrypt of N = 2^16 (64 MiB of
// memory; measured here at about 0.2 s in Go on a noisy 2-core machine),
// which only slows an attacker down: the passphrase's strength is what
// protects the keyring (see [MinPassphrase]). age's own default is 18
// (256 MiB, about 0.8 s here natively), but the reader's browser runs
// scrypt in JavaScript, several times slower than native code, and phones
// may refuse 256 MiB: 16 keeps unlocking a page bearable there, at the
// price of guesses four times cheaper than at 18. Readers try no more
// ([format.ScryptWorkFactor]).
const ScryptWorkFactor = format.ScryptWorkFactor

// MinPassphrase is the fewest characters a passphrase may have: a
// passphrase keyring can be guessed at offline by anyone.
const MinPassphrase = 12

// envName is the name of an environment variable that holds a passphrase.
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

const passphraseSyntax = "a passphrase is never written in keys/: name the environment variable that holds it at build time: passphrase env:NAME"

// isPassphraseLine reports whether line is meant as a passphrase key: it
// starts with the word "passphrase" or "password", in any case, followed by
// nothing, a space, ':' or '='.
func isPassphraseLine(line string) bool {
	lower := strings.ToLower(line)
	for _, w := range []string{"passphrase", "password"} {
		if rest, ok := strings.CutPrefix(lower, w); ok && (rest == "" || strings.ContainsRune(" \t:=", rune(rest[0]))) {
			return true
		}
	}
	return false
}

// parsePassphrase parses "passphrase env:NAME". Its errors never quote the
// line, which may hold a passphrase written by mistake.
func parsePassphrase(line string) (Key, error) {
	fields := strings.Fields(line)
	if fields[0] != "passphrase" || len(fields) < 2 || !strings.HasPrefix(fields[1], "env:") {
		return Key{}, errors.New(passphraseSyntax)
	}
	name := strings.TrimPrefix(fields[1], "env:")
	if !envName.MatchString(name) {
		return Key{}, errors.New("passphrase env:NAME: the variable name is not valid: write upper-case letters, digits and _, not starting with a digit (e.g. passphrase env:GUEST_PASSPHRASE)")
	}
	if len(fields) > 2 {
		return Key{}, errors.New("unexpected text after passphrase env:NAME: a comment goes on a line of its own, starting with #")
	}
	return Key{Kind: Passphrase, Text: "passphrase env:" + name, Env: name}, nil
}

// resolvePassphrase sets the passphrase of a Passphrase key from the
// environment. Its errors never quote the passphrase.
func resolvePassphrase(k *Key, getenv func(string) string) error {
	pass := getenv(k.Env)
	switch {
	case pass == "":
		return fmt.Errorf("%s: the environment variable %s is not set: set it when you build (never in the repository)", k.Text, k.Env)
	case !utf8.ValidString(pass):
		return fmt.Errorf("%s: the passphrase in %s is not valid UTF-8 text: a reader could not type it", k.Text, k.Env)
	case utf8.RuneCountInString(pass) < MinPassphrase:
		return fmt.Errorf("%s: the passphrase in %s is too short for a keyring that anyone can download and guess at offline: "+
			"use at least %d characters (4 or more random words are recommended)", k.Text, k.Env, MinPassphrase)
	}
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return fmt.Errorf("%s: %v", k.Text, err)
	}
	r.SetWorkFactor(ScryptWorkFactor)
	k.Recipient, k.passphrase = r, pass
	return nil
}

func firstField(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// sshTypes are the SSH key types that OpenSSH writes, so that an error may
// name them.
var sshTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true, "ssh-dss": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// knownSSHType reports whether t is a key or certificate type that OpenSSH
// writes, which an error may quote.
func knownSSHType(t string) bool {
	return sshTypes[t] || sshTypes[strings.TrimSuffix(t, "-cert-v01@openssh.com")]
}

// isSSHType reports whether a line starting with t is meant as an SSH key.
func isSSHType(t string) bool {
	return knownSSHType(t) || strings.HasPrefix(t, "ssh-") || strings.HasPrefix(t, "ecdsa-") || strings.HasPrefix(t, "sk-")
}

const sshSupported = "age encrypts to ssh-ed25519 keys and to ssh-rsa keys of 2048 bits or more: " +
	"add one of those, or an age key (conclave keys gen NAME)"

// encodedSSHType returns the type of the key in the second field of line.
func encodedSSHType(line string) (string, bool) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return "", false
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", false
	}
	pub, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return "", false
	}
	return pub.Type(), true
}

// parseSSHKey parses a line in the authorized_keys format, with an optional
// comment and without options.
func parseSSHKey(line string) (Key, error) {
	t := firstField(line)
	if !strings.ContainsAny(line, " \t") {
		if knownSSHType(t) {
			return Key{}, fmt.Errorf("malformed SSH public key %q: the key data is missing after the type", t)
		}
		return Key{}, errors.New("malformed SSH public key: the key data is missing after the type")
	}
	pub, _, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		if other, ok := encodedSSHType(line); ok && other != t && knownSSHType(other) && knownSSHType(t) {
			return Key{}, fmt.Errorf("malformed SSH public key: the line says %q, but the key is of type %q", t, other)
		}
		if knownSSHType(t) {
			return Key{}, fmt.Errorf("malformed SSH public key of type %q (its data does not decode to a key: a typo, or a truncated line?)", t)
		}
		return Key{}, fmt.Errorf("unsupported or malformed SSH public key: %s", sshSupported)
	}
	if len(options) > 0 || pub.Type() != t {
		return Key{}, errors.New("malformed SSH public key: write the key type, the key and optionally a comment, without authorized_keys options")
	}
	k := Key{Text: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		k.Kind = SSHEd25519
		k.Recipient, err = agessh.NewEd25519Recipient(pub)
		if err != nil {
			return Key{}, errors.New("malformed ssh-ed25519 public key (not a valid Ed25519 point)")
		}
	case ssh.KeyAlgoRSA:
		k.Kind = SSHRSA
		if ck, ok := pub.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
				if bits := rk.N.BitLen(); bits < 2048 {
					return Key{}, fmt.Errorf("ssh-rsa key of %d bits is too weak: age needs 2048 bits or more (make an ssh-ed25519 key instead: ssh-keygen -t ed25519)", bits)
				} else if bits > maxRSABits {
					return Key{}, fmt.Errorf("ssh-rsa key of %d bits is too large (at most %d)", bits, maxRSABits)
				}
			}
		}
		k.Recipient, err = agessh.NewRSARecipient(pub)
		if err != nil {
			return Key{}, fmt.Errorf("malformed ssh-rsa public key (%v)", err)
		}
	default:
		return Key{}, fmt.Errorf("unsupported SSH key type %q: %s", pub.Type(), sshSupported)
	}
	return k, nil
}
