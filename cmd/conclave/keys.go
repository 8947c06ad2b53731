package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/site"
)

func keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Make recipients' keys and signing keys; list the recipients and groups of a site",
		Long: `A site's keys/ folder holds its recipients' PUBLIC keys, keys/NAME.pub, and
keys/groups.toml, which names groups of recipients. Never a secret.

keys signing makes the key pair that signs releases (conclave sign --key).`,
		Example: `  conclave keys gen alice
  conclave keys list
  conclave keys signing`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("keys needs what to do: gen NAME, list, or signing [PREFIX]")}
		},
	}
	cmd.AddCommand(keysGenCmd(), keysListCmd(), keysSigningCmd())
	return cmd
}

func keysGenCmd() *cobra.Command {
	var source, out string
	var pq, add bool
	cmd := &cobra.Command{
		Use:   "gen NAME",
		Short: "Make an age identity for NAME and put its public key in keys/NAME.pub",
		Long: `Gen makes a new age identity, the secret key with which the recipient NAME
reads, and writes its public key to keys/NAME.pub in the site: that file is
the one that goes in the site's repository.

The identity is written, readable by you only, to -o FILE, by default to
conclave/identities/NAME.txt in your configuration folder (~/.config on
Linux). It is in age-keygen's format: "age -d -i FILE" reads with it too.
Gen never overwrites a file, and refuses to write an identity inside the
site's content/, keys/, themes/ or public/ folder. If the identity is for
someone else, give it to them over a secure channel and delete your copy.

Gen refuses to replace an existing keys/NAME.pub; with --add it adds the new
key to it, for a recipient who reads on several devices (64 keys at most).
It never writes through a symbolic link: a keys/NAME.pub that is a link, or
not a regular file, is refused. With --pq the
identity is post-quantum (ML-KEM-768 + X25519); the age CLI reads with it
from version 1.3 on.`,
		Example: `  conclave keys gen alice
  conclave keys gen alice --pq -o ~/keys/alice-laptop.txt
  conclave keys gen alice --add -o /media/usb/alice-phone.txt
  conclave keys gen cisco-psirt -s ~/briefings`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return keysGen(cmd, source, args[0], out, pq, add)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&source, "source", "s", ".", "site folder, holding conclave.toml")
	f.StringVarP(&out, "output", "o", "", "identity file to write (default: conclave/identities/NAME.txt in your configuration folder)")
	f.BoolVar(&pq, "pq", false, "make a post-quantum (ML-KEM-768 + X25519) identity")
	f.BoolVar(&add, "add", false, "add the key to an existing keys/NAME.pub")
	return cmd
}

func keysGen(cmd *cobra.Command, source, name, out string, pq, add bool) error {
	if !site.NamePattern.MatchString(name) {
		return usageError{fmt.Errorf("invalid recipient name %q: want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", name)}
	}
	if err := checkSite(source); err != nil {
		return err
	}
	// Everything in the site is reached through root: a symbolic link
	// (keys/ itself, say) never takes a write out of the site.
	root, err := os.OpenRoot(source)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := checkNotGroup(root, name); err != nil {
		return err
	}
	pubRel := audience.KeysDir + "/" + name + ".pub"
	pubShown := filepath.ToSlash(filepath.Join(source, filepath.FromSlash(pubRel)))
	pubInfo, err := checkPubFile(root, pubRel, pubShown)
	if err != nil {
		return err
	}
	exists := pubInfo != nil
	if exists && !add {
		return hintError{
			err:  fmt.Errorf("%s already exists", pubShown),
			hint: "--add adds a new key to it, for a recipient who reads on several devices; to replace a key, edit the file",
		}
	}

	defaultOut := out == ""
	if defaultOut {
		dir, err := os.UserConfigDir()
		if err != nil {
			return hintError{err: fmt.Errorf("no folder for identities: %v", err), hint: "choose the identity file with -o FILE"}
		}
		out = filepath.Join(dir, "conclave", "identities", name+".txt")
	}
	inSite, err := checkSecretPath(source, out, "identity", "an identity", "leave out -o to write it to your configuration folder, or choose a file outside the site")
	if err != nil {
		return err
	}

	now := time.Now()
	identity, publicKey, err := audience.GenerateIdentity(pq, now)
	if err != nil {
		return err
	}
	if defaultOut {
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return err
		}
	}
	if err := writeNew(out, identity, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return hintError{
				err:  fmt.Errorf("%s already exists: conclave never overwrites an identity", out),
				hint: "choose another file with -o FILE",
			}
		}
		return err
	}
	kind := "x25519"
	if pq {
		kind = "post-quantum mlkem768x25519"
	}
	comment := fmt.Sprintf("# %s key made by conclave keys gen on %s\n", kind, now.Format(time.DateOnly))
	if err := writePublicKey(root, pubRel, pubShown, pubInfo, comment+publicKey+"\n"); err != nil {
		os.Remove(out) // useless without its public key in the site
		return err
	}

	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "conclave: wrote a new %s identity for %s to %s\n", kind, name, out)
	if exists {
		fmt.Fprintf(w, "conclave: added its public key to %s\n", pubShown)
	} else {
		fmt.Fprintf(w, "conclave: wrote its public key to %s\n", pubShown)
	}
	e := cmd.ErrOrStderr()
	if inSite {
		fmt.Fprintf(e, "conclave: warning: the identity %s is inside the site folder: keep it out of the site's repository, or better, move it out of the site\n", out)
	}
	fmt.Fprintf(e, "conclave: hint: the identity is a SECRET: if it is for someone else, give it to them over a secure channel (in person, or an end-to-end encrypted messenger) and delete your copy\n")
	fmt.Fprintf(e, "conclave: hint: %s holds only the public key: it is the file that goes in the site's repository\n", pubShown)
	return nil
}

// checkSite fails unless source holds conclave.toml.
func checkSite(source string) error {
	_, err := os.Stat(filepath.Join(source, site.ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s not found in %s: is this a conclave site? (create one with: conclave new site DIR)", site.ConfigFile, source)
	}
	return err
}

// checkNotGroup fails if keys/groups.toml defines a group called name, or
// cannot be read. It reads the file as the build does: a symbolic link that
// stays in the site is followed, and the file is at most
// [audience.MaxFileSize] bytes.
func checkNotGroup(root *os.Root, name string) error {
	data, err := readSiteFile(root, audience.GroupsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	groups, err := audience.ParseGroups(audience.GroupsFile, data)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.Name == name {
			return fmt.Errorf("%q is a group (%s:%d): a recipient needs a name of its own", name, audience.GroupsFile, g.Line)
		}
	}
	return nil
}

// readSiteFile reads the regular file rel (a slash path) of the site
// opened as root, of at most [audience.MaxFileSize] bytes.
func readSiteFile(root *os.Root, rel string) ([]byte, error) {
	name := filepath.FromSlash(rel)
	info, err := root.Stat(name)
	if err != nil {
		return nil, siteError(rel, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", rel)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, siteError(rel, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, audience.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if len(data) > audience.MaxFileSize {
		return nil, fmt.Errorf("%s: too large for a keys file (more than %d bytes)", rel, audience.MaxFileSize)
	}
	return data, nil
}

// siteError describes an error of os.Root on the site's file rel; one that
// would leave the site says so.
func siteError(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && strings.Contains(pe.Err.Error(), "escapes") {
		return fmt.Errorf("%s: a symbolic link on the way leaves the site: conclave never reads or writes keys outside the site", rel)
	}
	return err
}

// checkPubFile returns what is at the recipient's .pub file rel, or nil if
// there is nothing. It refuses a symbolic link, which could point out of
// the site (the build refuses such a link, but keys gen --add would write
// through it), and anything else than a regular file; and, as the build
// would refuse a 65th key, a file that holds [audience.MaxKeys] keys.
func checkPubFile(root *os.Root, rel, shown string) (fs.FileInfo, error) {
	name := filepath.FromSlash(rel)
	info, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, siteError(shown, err)
	case info.Mode()&fs.ModeSymlink != 0:
		return nil, hintError{
			err:  fmt.Errorf("%s is a symbolic link: conclave keys gen never writes through a link, which could lead out of the site", shown),
			hint: "replace the link with the file it points to (if that file belongs in the site), or remove it",
		}
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", shown)
	}
	data, err := readSiteFile(root, rel)
	if err != nil {
		return nil, err
	}
	if audience.CountKeys(data) >= audience.MaxKeys {
		return nil, hintError{
			err:  fmt.Errorf("%s holds %d keys already, the most a recipient may have", shown, audience.MaxKeys),
			hint: "remove the keys that are no longer used, then add the new one",
		}
	}
	return info, nil
}

// checkSecretPath refuses a secret file (what: "identity", "signing key";
// aWhat with its article)
// inside a folder of the site that is published or committed, symbolic
// links resolved. It reports whether the file is elsewhere in the site
// folder.
func checkSecretPath(source, out, what, aWhat, hint string) (inSite bool, err error) {
	realOut, err := site.RealPath(out)
	if err != nil {
		return false, err
	}
	for _, d := range []string{site.ContentDir, audience.KeysDir, "themes", "public"} {
		realDir, err := site.RealPath(filepath.Join(source, d))
		if err != nil {
			return false, err
		}
		if site.Within(realDir, realOut) {
			return false, hintError{
				err:  fmt.Errorf("%s %s would be inside the site's %s/ folder: %s is a secret and never belongs in a site", what, out, d, aWhat),
				hint: hint,
			}
		}
	}
	realSite, err := site.RealPath(source)
	if err != nil {
		return false, err
	}
	return site.Within(realSite, realOut), nil
}

// writeNew creates the file path with data, and fails if it exists. A
// failed write leaves no file.
func writeNew(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// writePublicKey creates the .pub file rel of the site opened as root with
// text, or, if it exists (info, as checkPubFile found it), appends text to
// it on a line of its own. What it opens must still be the regular file
// that info describes.
func writePublicKey(root *os.Root, rel, shown string, info fs.FileInfo, text string) error {
	name := filepath.FromSlash(rel)
	if info == nil {
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return siteError(shown, err)
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return siteError(shown, err)
		}
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			root.Remove(name)
		}
		return err
	}
	f, err := root.OpenFile(name, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return siteError(shown, err)
	}
	defer f.Close()
	now, err := f.Stat()
	if err != nil {
		return err
	}
	if !now.Mode().IsRegular() || !os.SameFile(info, now) {
		return fmt.Errorf("%s changed while conclave keys gen ran (replaced by a link or another file?): nothing was added", shown)
	}
	if now.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, now.Size()-1); err != nil && err != io.EOF {
			return err
		}
		if last[0] != '\n' {
			text = "\n" + text
		}
	}
	if _, err := f.WriteString(text); err != nil {
		return err
	}
	return f.Close()
}

func keysListCmd() *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the recipients and groups of a site",
		Long: `List reads keys/ and prints each recipient with the types of its keys and the
groups it belongs to, then each group with its members and how many
recipients it covers. Problems in keys/ are reported like build errors.

A guest's passphrase key is listed as written, "passphrase env:NAME": list
reads no passphrase, so the variable need not be set (the build needs it).

Keys marked "(linkable)" tell whose keyring is whose to anyone who has the
public key: age writes a 4-byte tag of an SSH key (ssh-ed25519, ssh-rsa) in
every file encrypted to it, and so do tagged keys (age1tag1…) and the
plugins of hardware keys. A site that must not allow it sets
"[seal] linkable = false" in conclave.toml: the build then refuses them.`,
		Example: `  conclave keys list
  conclave keys list -s ~/briefings`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkSite(source); err != nil {
				return err
			}
			reg, err := audience.Load(source, audience.LoadOptions{}) // listing needs no passphrase
			if err != nil {
				return err
			}
			// The note on linkable keys says whether this site refuses
			// them; a broken conclave.toml is the build's to report.
			refused := ""
			if cfg, _, err := site.LoadConfig(source); err == nil && cfg.RefuseLinkable {
				refused = cfg.LinkableSetting()
			}
			printRegistry(cmd.OutOrStdout(), reg, refused)
			return nil
		},
	}
	cmd.Flags().StringVarP(&source, "source", "s", ".", "site folder, holding conclave.toml")
	return cmd
}

// printRegistry lists the recipients and groups of reg. refused is where
// the site refuses linkable keys ("conclave.toml:7 sets [seal] linkable =
// false"), or "" if it allows them.
func printRegistry(w io.Writer, reg *audience.Registry, refused string) {
	recipients, groups := reg.Recipients(), reg.Groups()
	if len(recipients) == 0 && len(groups) == 0 {
		fmt.Fprintln(w, "conclave: no recipients yet: add one with conclave keys gen NAME, or put its public keys in keys/NAME.pub")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECIPIENT\tKEYS\tGROUPS")
	linkable := false
	for _, r := range recipients {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, keyTypes(r.Keys), orDash(strings.Join(reg.GroupsOf(r.Name), ", ")))
		linkable = linkable || slices.ContainsFunc(r.Keys, audience.Key.Linkable)
	}
	if len(groups) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "GROUP\tMEMBERS\tRECIPIENTS")
		for _, g := range groups {
			names, _ := reg.Expand([]string{g.Name})
			fmt.Fprintf(tw, "%s\t%s\t%d\n", g.Name, strings.Join(g.Members, ", "), len(names))
		}
	}
	tw.Flush()
	if linkable {
		fmt.Fprintln(w)
		note := "[seal] linkable = false in conclave.toml refuses them"
		if refused != "" {
			note = "this site refuses them (" + refused + "): the build fails until they are replaced"
		}
		fmt.Fprintf(w, "conclave: note: a (linkable) key tells which keyring is its holder's to anyone who has the public key, "+
			"as age writes a 4-byte tag of it in every file encrypted to it; %s\n", note)
	}
}

// keyTypes describes keys by type, in the order of the file, with a count
// where a type is there more than once: "x25519, 2 ssh-ed25519 (linkable)".
// A passphrase key is shown as written, "passphrase env:NAME", which names
// the variable that holds it, never the passphrase. A linkable key (see
// [audience.Key.Linkable]) is marked "(linkable)".
func keyTypes(keys []audience.Key) string {
	var order []string
	count := map[string]int{}
	for _, k := range keys {
		t := k.Type()
		if k.Kind == audience.Passphrase {
			t = k.Text
		}
		if count[t] == 0 {
			order = append(order, t)
		}
		count[t]++
	}
	linkable := map[string]bool{}
	for _, k := range keys {
		linkable[k.Type()] = k.Linkable()
	}
	for i, t := range order {
		if count[t] > 1 {
			order[i] = fmt.Sprintf("%d %s", count[t], t)
		}
		if linkable[t] {
			order[i] += " (linkable)"
		}
	}
	return strings.Join(order, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
