package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
)

// localSite is the verified site a deploy uploads.
type localSite struct {
	dir     string
	root    *os.Root
	fsys    fs.FS
	entries []manifest.Entry // what SHA256SUMS lists, sorted by path
	sizes   []int64          // of each entry's file
	// The bytes of SHA256SUMS and its bundle that were verified, which are
	// the bytes uploaded; bundle is nil for an unsigned site.
	manifest, bundle []byte
	signer           string
}

func (s *localSite) close() { s.root.Close() }

// NoSignerError is a signed site deployed with no signer named to check
// its signature against.
type NoSignerError struct{ Dir string }

func (e *NoSignerError) Error() string {
	return fmt.Sprintf("%s is signed, and no signer is named to check it against: a deploy publishes only what verifies", e.Dir)
}

// UnsignedError is an unsigned site refused: the deploy was not told that
// it may publish one, or its target does not take one.
type UnsignedError struct {
	Dir    string
	Target string
	// Allowed is set when the caller allowed an unsigned site but the
	// target does not take one.
	Allowed bool
}

func (e *UnsignedError) Error() string {
	if e.Allowed {
		return fmt.Sprintf("deploy target %q does not take unsigned sites (it has no unsigned = true), and %s is not signed", e.Target, e.Dir)
	}
	return fmt.Sprintf("%s is not signed (it has no %s): a deploy publishes only a signed site", e.Dir, format.ManifestBundle)
}

// readSite checks the site at opt.Dir as conclave verify does, or, for an
// unsigned site that may be deployed, checks its files against its
// SHA256SUMS, and keeps the bytes it checked.
func readSite(opt Options) (*localSite, error) {
	dir := opt.Dir
	switch info, err := os.Stat(dir); {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: no such folder: build the site first (conclave build)", dir)
	case err != nil:
		return nil, err
	case !info.IsDir():
		return nil, fmt.Errorf("%s is not a folder: give the folder of a built site", dir)
	}
	if opt.AllowUnsigned && !opt.Target.Unsigned {
		return nil, &UnsignedError{Dir: dir, Target: opt.Target.Name, Allowed: true}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	s := &localSite{dir: dir, root: root, fsys: manifest.RootFS(root)}
	if err := s.read(opt); err != nil {
		root.Close()
		return nil, err
	}
	return s, nil
}

func (s *localSite) read(opt Options) error {
	_, err := s.root.Lstat(format.ManifestBundle)
	signed := !errors.Is(err, os.ErrNotExist)
	switch {
	case signed && opt.Policy == nil:
		return &NoSignerError{Dir: s.dir}
	case signed || !opt.AllowUnsigned:
		if opt.Policy == nil {
			return &UnsignedError{Dir: s.dir, Target: opt.Target.Name}
		}
		return s.verify(*opt.Policy)
	}
	return s.check()
}

// verify checks the site's signature and files, then reads SHA256SUMS and
// its bundle again and checks that the bytes it will upload are the ones
// verified.
func (s *localSite) verify(p sign.Policy) error {
	if p.LoadTrustedRoot != nil {
		p.LoadTrustedRoot = sync.OnceValues(p.LoadTrustedRoot)
	}
	rep, err := sign.VerifySite(s.dir, p)
	if errors.Is(err, sign.ErrNotSigned) {
		return &UnsignedError{Dir: s.dir}
	}
	if err != nil {
		return err
	}
	if s.manifest, _, err = manifest.ReadFile(s.fsys, format.Manifest, manifest.ManifestLimit); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(s.dir, format.Manifest), err)
	}
	if s.bundle, _, err = manifest.ReadFile(s.fsys, format.ManifestBundle, manifest.BundleLimit); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(s.dir, format.ManifestBundle), err)
	}
	sig, err := p.Verify(s.bundle, s.manifest)
	if err == nil {
		s.entries, err = manifest.Parse(filepath.Join(s.dir, format.Manifest), s.manifest)
	}
	if err == nil && !slices.Equal(s.entries, rep.Entries) {
		err = errors.New("changed since it was verified")
	}
	if err != nil {
		return fmt.Errorf("%s: %w: not deployed", s.dir, err)
	}
	s.signer = sig.Signer
	return s.stat()
}

// check checks the files of an unsigned site against its SHA256SUMS.
func (s *localSite) check() error {
	name := filepath.Join(s.dir, format.Manifest)
	var err error
	s.manifest, _, err = manifest.ReadFile(s.fsys, format.Manifest, manifest.ManifestLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no %s: is it a site built by conclave build?", s.dir, format.Manifest)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if s.entries, err = manifest.Parse(name, s.manifest); err != nil {
		return err
	}
	problems, err := manifest.CheckWith(s.dir, s.entries, manifest.CheckOptions{SizeLimit: manifest.SizeLimit})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		var l diag.List
		for _, p := range problems {
			l = append(l, &diag.Error{File: filepath.Join(s.dir, filepath.FromSlash(p.Path)), Msg: p.Reason})
		}
		return append(l, fmt.Errorf("%s does not match its %s: not deployed (build it again)", s.dir, format.Manifest))
	}
	return s.stat()
}

// stat reads the size of each listed file.
func (s *localSite) stat() error {
	s.sizes = make([]int64, len(s.entries))
	for i, e := range s.entries {
		info, err := s.root.Lstat(filepath.FromSlash(e.Path))
		if err != nil {
			return err
		}
		s.sizes[i] = info.Size()
	}
	return nil
}
