package open

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/format"
)

// secretPrefix starts every age secret key, written in two parts: a
// repository check refuses files that hold it in one piece.
const secretPrefix = "AGE-SECRET" + "-KEY-"

// UI is how reading identities talks to the reader.
type UI struct {
	// Prompt asks for a passphrase; message says what for. It is called
	// only when a passphrase is needed.
	Prompt func(message string) ([]byte, error)
	// Log receives a plugin's messages to the reader (touch your YubiKey).
	Log io.Writer
}

// ParseIdentities reads the identities in one file given with -i, the way
// the age CLI does: an age identity file (X25519, post-quantum, plugin
// identities), a passphrase-encrypted age identity file, or an SSH private
// key (ed25519 or RSA, passphrase-protected or not). name is the file's
// name for messages. Messages never quote the file's contents: they are
// secret.
func ParseIdentities(name string, data []byte, ui UI) ([]age.Identity, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(data, []byte("age-encryption.org/")) || bytes.HasPrefix(trimmed, []byte(armor.Header)):
		return encryptedIdentities(name, data, ui)
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		return sshIdentity(name, trimmed, ui)
	case isPublicKey(trimmed):
		return nil, fmt.Errorf("%s holds a public key, not an identity: -i takes the private key (for SSH, the file without .pub)", name)
	}
	return ageIdentities(name, data, ui)
}

// isPublicKey reports whether data starts like a recipient: an age public
// key or an SSH public key line.
func isPublicKey(data []byte) bool {
	for _, p := range []string{"age1", "ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"} {
		if bytes.HasPrefix(data, []byte(p)) {
			return true
		}
	}
	return false
}

func ageIdentities(name string, data []byte, ui UI) ([]age.Identity, error) {
	var ids []age.Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("%s:%d: not UTF-8 text: is this an age identity file?", name, n)
		}
		var (
			id  age.Identity
			err error
		)
		switch {
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			id, err = plugin.NewIdentity(line, pluginUI(ui.Log))
		case strings.HasPrefix(line, secretPrefix+"PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, secretPrefix+"1"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "age1"):
			return nil, fmt.Errorf("%s:%d: a recipient (public key), not an identity: -i takes the private key", name, n)
		default:
			return nil, fmt.Errorf("%s:%d: not an age identity (want %s1…, %sPQ-1…, AGE-PLUGIN-…, or an SSH private key file)", name, n, secretPrefix, secretPrefix)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: malformed identity", name, n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s holds no identity", name)
	}
	return ids, nil
}

// encryptedIdentities decrypts an identity file protected by a
// passphrase (age -p), then reads it. The passphrase is asked for only if
// the file is encrypted with one.
func encryptedIdentities(name string, data []byte, ui UI) ([]age.Identity, error) {
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header)) {
		src = armor.NewReader(src)
	}
	id := &lazyScrypt{prompt: func() ([]byte, error) {
		return ui.Prompt(fmt.Sprintf("passphrase for identity file %s", name))
	}}
	plain, err := age.Decrypt(src, id)
	var b bytes.Buffer
	if err == nil {
		_, err = b.ReadFrom(plain)
	}
	switch {
	case err == nil:
	case id.err != nil:
		return nil, fmt.Errorf("%s: %w", name, id.err)
	case !id.asked && isNoMatch(err):
		return nil, fmt.Errorf("%s is an age-encrypted file, but not one protected by a passphrase: -i takes an identity file (a keyring or packet of a site is not one)", name)
	case isNoMatch(err):
		return nil, fmt.Errorf("%s: wrong passphrase", name)
	default:
		return nil, fmt.Errorf("%s: cannot decrypt this passphrase-protected identity file%s", name, detail(err, data))
	}
	ids, err := ageIdentities(name, b.Bytes(), ui)
	if err != nil {
		return nil, fmt.Errorf("passphrase-protected identity file %w", err)
	}
	return ids, nil
}

func isNoMatch(err error) bool {
	var nm *age.NoIdentityMatchError
	return errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity)
}

// lazyScrypt is an age scrypt identity that asks for its passphrase only
// when the file has an scrypt stanza.
type lazyScrypt struct {
	prompt func() ([]byte, error)
	asked  bool
	err    error // from the prompt
}

func (l *lazyScrypt) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if !slices.ContainsFunc(stanzas, func(s *age.Stanza) bool { return s.Type == "scrypt" }) {
		return nil, age.ErrIncorrectIdentity
	}
	l.asked = true
	pass, err := l.prompt()
	if err != nil {
		l.err = err
		return nil, err
	}
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		l.err = err
		return nil, err
	}
	return id.Unwrap(stanzas)
}

// MaxScryptWorkFactor is the highest scrypt work factor (log2 N) a
// passphrase keyring may ask for: what conclave seals them with
// ([format.ScryptWorkFactor]). A site that asks for more (age accepts up to
// 22: 4 GiB of memory and seconds for each keyring) is refused rather than
// tried.
const MaxScryptWorkFactor = format.ScryptWorkFactor

// MaxPassphraseTries is the most passphrase keyrings a passphrase is tried
// on ([format.MaxPassphraseKeyrings], the most a build writes): a hostile
// site with thousands would cost one scrypt each.
const MaxPassphraseTries = format.MaxPassphraseKeyrings

// PassphraseIdentity returns the identity of a guest who was given a
// passphrase instead of a key: it opens the age scrypt files (passphrase
// keyrings) sealed with that passphrase, and no other file. prompt is
// called once, the first time a file has an scrypt stanza: a site without
// passphrase keyrings never asks. A wrong passphrase, like a file that
// is not passphrase-encrypted, is not for this identity
// ([age.ErrIncorrectIdentity]); the prompt's error, and a work factor above
// [MaxScryptWorkFactor] and a file past the first [MaxPassphraseTries]
// with an scrypt stanza, are errors.
func PassphraseIdentity(prompt func() ([]byte, error)) age.Identity {
	return &passphraseIdentity{prompt: prompt}
}

type passphraseIdentity struct {
	prompt func() ([]byte, error)
	asked  bool
	tries  int // scrypt stanzas tried
	id     *age.ScryptIdentity
	err    error // from the prompt
}

func (p *passphraseIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	i := slices.IndexFunc(stanzas, func(s *age.Stanza) bool { return s.Type == "scrypt" })
	if i < 0 {
		return nil, fmt.Errorf("%w: not passphrase-encrypted", age.ErrIncorrectIdentity)
	}
	// Checked before asking: a hostile site gains nothing by making the
	// reader type the passphrase.
	if args := stanzas[i].Args; len(args) == 2 {
		if logN, err := strconv.Atoi(args[1]); err == nil && logN > MaxScryptWorkFactor {
			return nil, fmt.Errorf("a passphrase keyring asks for a scrypt work factor of %d, above the %d conclave seals with: refused, as trying it could take gigabytes of memory", logN, MaxScryptWorkFactor)
		}
	}
	if p.tries == MaxPassphraseTries {
		return nil, fmt.Errorf("the passphrase was tried on %d passphrase keyrings already, the most a site holds (a hostile site?): not tried on more", MaxPassphraseTries)
	}
	p.tries++
	if !p.asked {
		p.asked = true
		pass, err := p.prompt()
		if err == nil {
			p.id, err = age.NewScryptIdentity(string(pass))
		}
		if err != nil {
			p.err = err
		} else {
			p.id.SetMaxWorkFactor(MaxScryptWorkFactor)
		}
	}
	if p.err != nil {
		return nil, &readerError{p.err}
	}
	return p.id.Unwrap(stanzas)
}

// readerError is an error of the reader's own identities, not of the file
// being decrypted: no way to ask for a passphrase, or a wrong one. It
// would be the same for every file, so it stops the reader, where a
// problem with one file is reported and the others are read.
type readerError struct{ err error }

func (e *readerError) Error() string { return e.err.Error() }
func (e *readerError) Unwrap() error { return e.err }

// askedPassphrase reports whether ids hold a passphrase identity that was
// given a passphrase.
func askedPassphrase(ids []age.Identity) bool {
	return slices.ContainsFunc(ids, func(id age.Identity) bool {
		p, ok := id.(*passphraseIdentity)
		return ok && p.asked && p.err == nil
	})
}

// detail returns ": " and err's message, or "" if the message could quote
// the secret file data: age and x/crypto/ssh quote the lines they cannot
// parse.
func detail(err error, data []byte) string {
	msg := err.Error()
	if strings.ContainsAny(msg, "\"`'\n") || !utf8.ValidString(msg) {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); len(line) >= 4 && strings.Contains(msg, line) {
			return ""
		}
	}
	return ": " + msg
}

// sshIdentity reads an SSH private key. A passphrase-protected key is
// asked for its passphrase only when a keyring was encrypted to it.
func sshIdentity(name string, pemBytes []byte, ui UI) ([]age.Identity, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || !sshPEMTypes[block.Type] {
		return nil, fmt.Errorf("%s: not an SSH private key (want an OpenSSH, PKCS#1 or PKCS#8 private key; age reads ssh-ed25519 and ssh-rsa keys)", name)
	}
	id, err := agessh.ParseIdentity(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if missing.PublicKey == nil {
			return nil, fmt.Errorf("%s is a passphrase-protected SSH key in an old format that hides its public key: convert it with: ssh-keygen -p -f %s", name, name)
		}
		k := &encryptedSSH{name: name, pem: pemBytes}
		enc, err := agessh.NewEncryptedSSHIdentity(missing.PublicKey, pemBytes, func() ([]byte, error) {
			pass, err := ui.Prompt(fmt.Sprintf("passphrase for SSH key %s", name))
			k.pass, k.err = pass, err
			return pass, err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: not a usable SSH private key%s (age reads ssh-ed25519 and ssh-rsa keys)", name, detail(err, pemBytes))
		}
		k.EncryptedSSHIdentity = enc
		return []age.Identity{k}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable SSH private key%s (age reads ssh-ed25519 and ssh-rsa keys)", name, detail(err, pemBytes))
	}
	return []age.Identity{id}, nil
}

// The PEM block types of the private keys x/crypto/ssh reads.
var sshPEMTypes = map[string]bool{
	"OPENSSH PRIVATE KEY": true,
	"RSA PRIVATE KEY":     true,
	"PRIVATE KEY":         true,
	"EC PRIVATE KEY":      true,
	"DSA PRIVATE KEY":     true,
}

// encryptedSSH is a passphrase-protected SSH key whose errors say what
// went wrong in the reader's terms: a wrong passphrase, or no way to ask.
type encryptedSSH struct {
	*agessh.EncryptedSSHIdentity
	name string
	pem  []byte
	pass []byte // the last passphrase given, nil before the prompt
	err  error  // the prompt's error
}

func (k *encryptedSSH) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	key, err := k.EncryptedSSHIdentity.Unwrap(stanzas)
	if err == nil || errors.Is(err, age.ErrIncorrectIdentity) {
		return key, err
	}
	switch {
	case k.err != nil:
		return nil, &readerError{fmt.Errorf("SSH key %s: %w", k.name, k.err)}
	case k.pass != nil:
		if _, perr := ssh.ParseRawPrivateKeyWithPassphrase(k.pem, k.pass); errors.Is(perr, x509.IncorrectPasswordError) {
			return nil, &readerError{fmt.Errorf("SSH key %s: wrong passphrase", k.name)}
		}
	}
	return nil, fmt.Errorf("SSH key %s cannot be used%s", k.name, detail(err, k.pem))
}

// pluginUI lets a plugin (age-plugin-yubikey, …) talk to the reader on the
// terminal, as the age CLI does.
func pluginUI(log io.Writer) *plugin.ClientUI {
	if log == nil {
		log = io.Discard
	}
	return plugin.NewTerminalUI(func(format string, v ...any) {
		fmt.Fprintf(log, "conclave: "+format+"\n", v...)
	}, func(format string, v ...any) {
		fmt.Fprintf(log, "conclave: warning: "+format+"\n", v...)
	})
}
