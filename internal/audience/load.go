package audience

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/secret"
	"github.com/conclave-dev/conclave/internal/site"
)

// MaxFileSize is the largest file read from keys/: 1 MiB, thousands of
// keys or groups.
const MaxFileSize = 1 << 20

const maxFile = MaxFileSize

// LoadOptions controls [Load].
type LoadOptions struct {
	// Getenv looks up an environment variable, as os.Getenv does (tests
	// give a map's lookup). With it, Load resolves every passphrase key
	// ("passphrase env:NAME"): a variable that is unset or empty, or a
	// passphrase shorter than [MinPassphrase] characters, is an error at
	// the key's line, and no two passphrase keys may share a passphrase.
	//
	// Without it (nil), passphrase keys are read but not resolved: their
	// Recipient is nil and they cannot be encrypted to. That is what
	// listing recipients or auditing who reads what needs: no secret.
	// A build needs the passphrases, and gives Getenv.
	Getenv func(string) string
}

// Load reads the recipients and groups of the site at root from root/keys:
// every NAME.pub file and groups.toml, as [ParseKeys], [ParseGroups] and
// [New] do, and checks that no key belongs to two recipients. A site without
// keys/ has an empty registry. Passphrase keys are resolved with
// opt.Getenv, if given (see [LoadOptions]).
//
// Hidden files, editor backups ("alice.pub~") and README files are
// ignored, except that a README must not hold a secret; any other file, and
// any folder, in keys/ is an error. A symbolic link is followed if
// it stays inside the site.
//
// Every problem is reported at once, as a [diag.List] of errors located by
// their slash path from root; the registry is then nil.
func Load(root string, opt LoadOptions) (*Registry, error) {
	entries, err := os.ReadDir(filepath.Join(root, KeysDir))
	if errors.Is(err, fs.ErrNotExist) {
		return New(nil, nil)
	}
	if err != nil {
		return nil, diag.Errorf(KeysDir, 0, "%v", unwrapPathError(err))
	}
	absRoot, err := site.RealPath(root)
	if err != nil {
		return nil, err
	}
	var (
		errs       diag.List
		recipients []*Recipient
		groups     []*Group
		broken     = map[string]bool{}
	)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.HasPrefix(name, "#") {
			continue
		}
		rel := KeysDir + "/" + name
		typ, err := entryType(absRoot, rel, e)
		if err != nil {
			errs.Add(err)
			continue
		}
		if typ.IsDir() {
			errs.Add(diag.Errorf(rel, 0, "a folder in %s/: put every NAME.pub file directly in %s/", KeysDir, KeysDir))
			continue
		}
		if !typ.IsRegular() {
			errs.Add(diag.Errorf(rel, 0, "not a regular file"))
			continue
		}
		data, err := readFile(filepath.Join(root, KeysDir, name))
		if err != nil {
			errs.Add(diag.Errorf(rel, 0, "%v", err))
			continue
		}
		switch {
		case isReadme(name):
			if line, what, ok := secret.Find(data); ok {
				errs.Add(exposed(rel, line, what))
			}
		case name == "groups.toml":
			gs, err := ParseGroups(rel, data)
			errs.Add(err)
			groups = gs
		case strings.HasSuffix(name, ".pub"):
			rname := strings.TrimSuffix(name, ".pub")
			if !site.NamePattern.MatchString(rname) {
				errs.Add(diag.Errorf(rel, 0, "recipient name %q: want %s (rename the file)", rname, nameRule))
				continue
			}
			keys, err := parseKeys(rel, data)
			if err != nil {
				errs.Add(err)
				broken[rname] = true
			}
			recipients = append(recipients, &Recipient{Name: rname, File: rel, Keys: keys})
		default:
			errs.Add(strayFile(rel, data))
		}
	}
	errs.Add(checkSharedKeys(recipients))
	errs.Add(checkPassphraseCount(recipients))
	if opt.Getenv != nil {
		errs.Add(resolvePassphrases(recipients, opt.Getenv))
	}
	reg, err := build(recipients, groups, broken)
	errs.Add(err)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return reg, nil
}

// entryType returns the type of a folder entry, following a symbolic link
// that stays inside the site.
func entryType(absRoot, rel string, e fs.DirEntry) (fs.FileMode, error) {
	typ := e.Type()
	if typ&fs.ModeSymlink == 0 {
		return typ, nil
	}
	target, err := filepath.EvalSymlinks(filepath.Join(absRoot, filepath.FromSlash(rel)))
	if err != nil {
		return 0, diag.Errorf(rel, 0, "broken symbolic link: %v", unwrapPathError(err))
	}
	if !site.Within(absRoot, target) {
		return 0, diag.Errorf(rel, 0, "symbolic link leaves the site (points to %s); copy the file into the site instead", target)
	}
	info, err := os.Stat(target)
	if err != nil {
		return 0, diag.Errorf(rel, 0, "%v", unwrapPathError(err))
	}
	return info.Mode().Type(), nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("too large for a keys file (more than %d bytes)", maxFile)
	}
	return data, nil
}

// isReadme reports whether name is a README file ("README", "README.md"),
// which documents the folder.
func isReadme(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	return strings.EqualFold(base, "README")
}

// strayFile is the error for a file in keys/ that is neither NAME.pub,
// groups.toml nor a README.
func strayFile(rel string, data []byte) error {
	if line, what, ok := secret.Find(data); ok {
		return exposed(rel, line, what)
	}
	return diag.Errorf(rel, 0, "not a keys file: %s/ holds only NAME.pub files of public keys, groups.toml and a README "+
		"(if this file is an identity, it is a secret: move it out of the site)", KeysDir)
}

func exposed(rel string, line int, what string) error {
	return diag.Errorf(rel, line, "holds %s, a SECRET key: secrets must never be in %s/; "+
		"move it out of the site and treat the key as exposed (make a new one, and put only its public key in %s/NAME.pub)", what, KeysDir, KeysDir)
}

// checkSharedKeys reports a key that is in the files of two recipients:
// either could read what is meant for the other.
func checkSharedKeys(recipients []*Recipient) error {
	type place struct {
		file string
		line int
	}
	var errs diag.List
	seen := map[string]place{}
	for _, rec := range recipients {
		for _, k := range rec.Keys {
			if p, ok := seen[k.Text]; ok {
				errs.Add(diag.Errorf(rec.File, k.Line, "the same %s key as %s:%d: each recipient needs keys of their own (use a group for people who read the same)", k.Type(), p.file, p.line))
				continue
			}
			seen[k.Text] = place{rec.File, k.Line}
		}
	}
	return errs.Err()
}

// checkPassphraseCount refuses more passphrase keys than
// [format.MaxPassphraseKeyrings]: each is a keyring of its own, which every
// reader given a passphrase tries it on, at the cost of an scrypt each.
func checkPassphraseCount(recipients []*Recipient) error {
	n := 0
	for _, rec := range recipients {
		for _, k := range rec.Keys {
			if k.Kind != Passphrase {
				continue
			}
			if n++; n > format.MaxPassphraseKeyrings {
				return diag.Errorf(rec.File, k.Line, "%s: more than %d passphrase keys in %s/: a reader's passphrase is tried on each guest's keyring, at a cost of one scrypt (64 MiB, a second in a browser) each, so a site has at most %d; "+
					"give guests who stay age keys (conclave keys gen), or put several guests behind one passphrase key", k.Text, format.MaxPassphraseKeyrings, KeysDir, format.MaxPassphraseKeyrings)
			}
		}
	}
	return nil
}

// resolvePassphrases resolves every passphrase key of recipients with
// getenv, and reports a passphrase that two keys share (a recipient could
// read what is meant for another), never quoting a passphrase.
func resolvePassphrases(recipients []*Recipient, getenv func(string) string) error {
	type place struct {
		file, env string
		line      int
	}
	var errs diag.List
	seen := map[string]place{}
	for _, rec := range recipients {
		for i := range rec.Keys {
			k := &rec.Keys[i]
			if k.Kind != Passphrase {
				continue
			}
			if err := resolvePassphrase(k, getenv); err != nil {
				errs.Add(&diag.Error{File: rec.File, Line: k.Line, Msg: err.Error()})
				continue
			}
			if p, ok := seen[k.passphrase]; ok {
				if p.env == k.Env {
					continue // the same key in two files: checkSharedKeys said so
				}
				errs.Add(diag.Errorf(rec.File, k.Line, "%s: %s holds the same passphrase as %s (%s:%d): give each passphrase key a passphrase of its own", k.Text, k.Env, p.env, p.file, p.line))
				continue
			}
			seen[k.passphrase] = place{rec.File, k.Env, k.Line}
		}
	}
	return errs.Err()
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
