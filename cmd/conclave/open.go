package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/sign"
)

// testOnlyPassphrase, when set, answers passphrase prompts in tests,
// which have no terminal.
var testOnlyPassphrase func(prompt string) ([]byte, error)

func openCmd() *cobra.Command {
	var (
		identities []string
		out        string
		vf         verifyFlags
		skipVerify bool
		guest      bool
	)
	cmd := &cobra.Command{
		Use:   "open (-i IDENTITY | --passphrase) [-o DIR] SITE | FILE.age",
		Short: "Write a readable copy of a sealed site, or decrypt one packet",
		Long: `Open decrypts what your identity may read, on your own machine.

Given a site's output folder, it finds the keyrings your identities open,
decrypts every sealed passage their keys open, and writes a readable copy of
the site to DIR (default: the site's folder name with "-opened" added). The
copy holds restricted text: it is written with private file modes and a
.gitignore, and must stay on your machine.

Given one packet (packets/NAME.age), it prints the passage's HTML, or, for
an attachment's packet, writes its file (-o FILE, or standard output).

Identities (-i, repeatable) are age identity files (X25519, post-quantum,
plugins such as age-plugin-yubikey), passphrase-protected age identity files,
and SSH private keys (ssh-ed25519, ssh-rsa), which ask for their passphrase.
A guest who was given a passphrase instead of a key reads with --passphrase:
it asks for the passphrase on the terminal, once, when the site has a
passphrase keyring (-i is then optional).

Open verifies before it decrypts: the site's signature must verify for the
signer you name, with the flags of conclave verify (--key, or
--certificate-identity and --certificate-oidc-issuer), and the site must
hold exactly the files it lists; each file is checked again as it is read.
An unsigned or tampered site is refused. --insecure-skip-verify opens it
anyway: then nothing says who wrote what you read.

A copy of a site may come from anywhere, so open reads every file as a
regular file only (a symbolic link, named pipe or device is refused, never
followed or waited on), and only up to a limit: 128 MiB for SHA256SUMS
(1,000,000 files), 1 MiB for its bundle, 64 MiB for a passage's packet or a
page, 16 MiB for a keyring, 5 GiB for an attachment's packet. The bytes
checked against SHA256SUMS as a file is read are the bytes used: a file
changed since it was verified is refused.

An attachment (a file sealed as a packet of its own, up to 4 GiB) is
decrypted as a stream, in little memory whatever its size, into a temporary
file that takes the attachment's name only once every byte of its packet
was authenticated and matched the packet's name and SHA256SUMS: an altered,
cut short or swapped packet leaves no file. To standard output, the packet
is checked before its first byte is written.

One bad keyring, packet or passage does not stop the others: a keyring or
packet that cannot be read or opened (too large, changed since it was
verified, damaged, or refused by age, such as a keyring of more than 1,024
keys), or a passage nested more than 16 deep, gets a warning naming its
file, its passages stay sealed and marked, and everything else is opened
and written.

Exit status: 0 when everything was read and every passage your identities
may read was opened; 1 when the site could not be verified or opened (no
copy is written), or when the copy was written but is incomplete (after
its warnings, a last error line says so); 2 for a usage error. Given one
FILE.age, open exits 0 when that file opened, even if some other keyring of
its site could not be read (a warning names it).`,
		Example: `  conclave open -i ~/.config/conclave/identities/alice.txt --key site.pub public
  conclave open -i ~/.ssh/id_ed25519 -o ~/briefings-opened ./briefings \
      --certificate-identity https://github.com/acme/briefings/.github/workflows/publish.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  conclave open -i key.txt --key site.pub public/packets/3f9a0c1d2e4b5a6978877665544332211.age
  conclave open --passphrase --key site.pub public`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(identities) == 0 && !guest {
				return usageError{errors.New("no identity: give your age identity or SSH private key with -i FILE, or --passphrase if you were given a passphrase")}
			}
			if skipVerify && vf.given() {
				return usageError{errors.New("--insecure-skip-verify and a signer to verify against contradict each other")}
			}
			if !skipVerify && !vf.given() {
				return usageError{errors.New("open verifies the site's signature before it decrypts: name the signer with --key FILE, or --certificate-identity and --certificate-oidc-issuer (as for conclave verify)")}
			}
			target := args[0]
			info, err := os.Stat(target)
			if err != nil {
				return err
			}
			sums, err := verifyForOpen(cmd, vf, skipVerify, target, info.IsDir())
			if err != nil {
				return err
			}
			ids, err := readIdentities(cmd, identities)
			if err != nil {
				return err
			}
			if guest {
				ids = append(ids, open.PassphraseIdentity(func() ([]byte, error) {
					return passphrase("passphrase for the site's keyrings")
				}))
			}
			if !info.IsDir() {
				return openFile(cmd, target, out, ids, sums)
			}
			if out == "" {
				out, err = defaultOut(target)
				if err != nil {
					return err
				}
			}
			// Ctrl-C or a stop signal ends the copy and removes what of it
			// was written (it holds restricted text).
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := open.SiteContext(ctx, target, out, ids, sums)
			var incomplete *open.IncompleteError
			if errors.As(err, &incomplete) {
				printWarnings(cmd, incomplete.Problems)
			} else if err != nil {
				return err
			}
			printCopy(cmd.OutOrStdout(), rep)
			fmt.Fprintln(cmd.ErrOrStderr(), "conclave: warning: the copy holds restricted text: keep it on this machine, never commit or publish it")
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&identities, "identity", "i", nil, "identity file: age identity or SSH private key (repeatable)")
	f.BoolVar(&guest, "passphrase", false, "ask for the passphrase you were given, and open the keyrings sealed with it")
	f.StringVarP(&out, "out", "o", "", "output folder for a site (default SITE-opened), or new file for a packet (default standard output)")
	vf.add(f)
	f.BoolVar(&skipVerify, "insecure-skip-verify", false, "open without checking the site's signature (INSECURE: anyone could have written it)")
	return cmd
}

// openFile decrypts the one age file target to out, a new file, or to
// standard output (out "" or "-"): a passage's HTML, or an attachment's
// file, streamed whatever its size. Into a file, it writes a temporary
// file next to out, and puts it at out only once the packet was read to
// its end and checked: a packet altered, cut short or swapped leaves no
// file, and Ctrl-C removes what was written. To standard output, an
// attachment's packet is checked against its digest before its first byte
// is written.
func openFile(cmd *cobra.Command, target, out string, ids []age.Identity, sums open.Sums) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	toStdout := out == "" || out == "-"
	w := cmd.OutOrStdout()
	var tmp *os.File
	if !toStdout {
		if err := open.CheckFileOut(target, out); err != nil {
			return err
		}
		if _, err := os.Lstat(out); err == nil {
			return &fs.PathError{Op: "open", Path: out, Err: syscall.EEXIST}
		}
		var err error
		// Hidden, and for its owner only (os.CreateTemp makes it 0600):
		// it holds restricted text.
		if tmp, err = os.CreateTemp(filepath.Dir(out), ".conclave-open-*"); err != nil {
			return err
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		w = tmp
	}
	a, warnings, err := open.FileTo(ctx, w, target, ids, open.FileOptions{Sums: sums, CheckFirst: toStdout})
	printWarnings(cmd, warnings)
	if err != nil {
		if a != nil && toStdout {
			err = fmt.Errorf("%w (standard output was given part of the attachment %s before this was found: discard it)", err, a.Path)
		}
		return err
	}
	if a != nil {
		// An attachment: its file, without header or padding.
		fmt.Fprintf(cmd.ErrOrStderr(), "conclave: %s is the attachment %s (%s, %d bytes)\n", target, a.Path, a.Type, a.Size)
	}
	if tmp == nil {
		return nil
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// A link does not replace a file made at out since; where the file
	// system has no links, a rename does, once out is checked again.
	err = os.Link(tmp.Name(), out)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		if _, lerr := os.Lstat(out); lerr == nil {
			return &fs.PathError{Op: "open", Path: out, Err: syscall.EEXIST}
		}
		err = os.Rename(tmp.Name(), out)
	}
	return err
}

// verifyForOpen checks the signature of the site at target, or of the site
// holding the packet target, and returns its verified manifest; nil when
// verification is skipped, which it says loudly.
func verifyForOpen(cmd *cobra.Command, vf verifyFlags, skip bool, target string, isDir bool) (open.Sums, error) {
	if skip {
		fmt.Fprintln(cmd.ErrOrStderr(), "conclave: WARNING: --insecure-skip-verify: the site's signature is NOT checked; anyone who could change the files could have written what you are about to read")
		return nil, nil
	}
	p, err := vf.policy()
	if err != nil {
		return nil, err
	}
	dir := target
	verifyAll := sign.VerifySite
	if !isDir {
		if dir, err = open.SiteOf(target); err != nil {
			return nil, err
		}
		if dir == "" {
			return nil, fmt.Errorf("%s is not in a site's packets/ folder: there is no signature to verify it with (--insecure-skip-verify decrypts it anyway)", target)
		}
		verifyAll = sign.VerifyManifest // each file read is checked against the manifest
	}
	rep, err := verifyAll(dir, p)
	if err != nil {
		return nil, verifyError(err)
	}
	if isDir {
		fmt.Fprintf(cmd.ErrOrStderr(), "conclave: verified %s: signed by %s\n", dir, rep.Signature.Signer)
	} else {
		// Only the manifest's signature: the files read are checked
		// against it as they are read, the rest of the site is not.
		fmt.Fprintf(cmd.ErrOrStderr(), "conclave: verified %s: signed by %s; each file read is checked against it (conclave verify %s checks the whole site)\n",
			filepath.Join(dir, manifest.Name), rep.Signature.Signer, dir)
	}
	return open.VerifiedSums(rep.Entries), nil
}

// defaultOut is the folder a site's readable copy goes to without -o: next
// to the site, named after it, even when the site is given as "." or "..".
func defaultOut(site string) (string, error) {
	site = filepath.Clean(site)
	if base := filepath.Base(site); base == "." || base == ".." || base == string(filepath.Separator) {
		abs, err := filepath.Abs(site)
		if err != nil {
			return "", err
		}
		site = abs
	}
	return site + "-opened", nil
}

// readIdentities reads every -i file.
func readIdentities(cmd *cobra.Command, names []string) ([]age.Identity, error) {
	ui := open.UI{Prompt: passphrase, Log: cmd.ErrOrStderr()}
	var ids []age.Identity
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		got, err := open.ParseIdentities(name, data, ui)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// passphrase asks on the terminal, never on standard input, which may
// carry data.
func passphrase(prompt string) ([]byte, error) {
	if testOnlyPassphrase != nil {
		return testOnlyPassphrase(prompt)
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%s is needed, but there is no terminal to ask on", prompt)
	}
	defer tty.Close()
	fmt.Fprintf(tty, "Enter %s: ", prompt)
	pass, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %v", prompt, err)
	}
	if strings.TrimSpace(string(pass)) == "" {
		return nil, fmt.Errorf("empty %s", prompt)
	}
	return pass, nil
}

// printCopy writes what writing a readable copy did, for open and pull.
func printCopy(w io.Writer, rep *open.Report) {
	fmt.Fprintf(w, "conclave: wrote a readable copy to %s (start at %s)\n", rep.Out, filepath.Join(rep.Out, "index.html"))
	fmt.Fprintf(w, "  opened      %6d  sealed passages your identities may read; %d page(s) hold sealed passages\n", rep.Opened, rep.Pages)
	if rep.Again > 0 {
		fmt.Fprintf(w, "  unchanged   %6d  pages taken from the copy this one replaced (same page, same keys)\n", rep.Again)
	}
	if rep.Attachments > 0 {
		fmt.Fprintf(w, "  attachments %6d  sealed files written at their paths in the copy\n", rep.Attachments)
	}
	fmt.Fprintf(w, "  not for you %6d  sealed for audiences you are not in\n", rep.NotForYou)
	if rep.Failed > 0 {
		fmt.Fprintf(w, "  not opened  %6d  could not be opened: left sealed (see the warnings)\n", rep.Failed)
	}
	fmt.Fprintf(w, "  keyrings    %6d  of %d opened by your identities\n", rep.KeyringsOpened, rep.Keyrings)
}
