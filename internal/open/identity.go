package open

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/ssh"
)

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
	case bytes.HasPrefix(trimmed, []byte("ssh-")) || bytes.HasPrefix(trimmed, []byte("age1")):
		return nil, fmt.Errorf("%s holds a public key, not an identity: -i takes the private key (for SSH, the file without .pub)", name)
	}
	return ageIdentities(name, data, ui)
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
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "age1"):
			return nil, fmt.Errorf("%s:%d: a recipient (public key), not an identity: -i takes the private key", name, n)
		default:
			return nil, fmt.Errorf("%s:%d: not an age identity (want AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1…, AGE-PLUGIN-…, or an SSH private key file)", name, n)
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
// passphrase (age -p), then reads it.
func encryptedIdentities(name string, data []byte, ui UI) ([]age.Identity, error) {
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header)) {
		src = armor.NewReader(src)
	}
	pass, err := ui.Prompt(fmt.Sprintf("passphrase for identity file %s", name))
	if err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, err
	}
	plain, err := age.Decrypt(src, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, fmt.Errorf("%s: wrong passphrase", name)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(plain); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return ageIdentities(name, b.Bytes(), ui)
}

// sshIdentity reads an SSH private key. A passphrase-protected key is
// asked for its passphrase only when a keyring was encrypted to it.
func sshIdentity(name string, pemBytes []byte, ui UI) ([]age.Identity, error) {
	id, err := agessh.ParseIdentity(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if missing.PublicKey == nil {
			return nil, fmt.Errorf("%s is a passphrase-protected SSH key in an old format that hides its public key: convert it with: ssh-keygen -p -f %s", name, name)
		}
		enc, err := agessh.NewEncryptedSSHIdentity(missing.PublicKey, pemBytes, func() ([]byte, error) {
			return ui.Prompt(fmt.Sprintf("passphrase for SSH key %s", name))
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		return []age.Identity{enc}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable SSH private key (age reads ssh-ed25519 and ssh-rsa keys): %v", name, err)
	}
	return []age.Identity{id}, nil
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
