package pull

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/progress"
	"github.com/conclave-dev/conclave/internal/sign"
)

// The folders of StateDir, as slash paths from DIR.
const (
	nextPath    = StateDir + "/" + nextDir
	objectsPath = StateDir + "/" + objectsDir
)

// fetchManifest fetches SHA256SUMS and its bundle into the mirror being
// assembled, checks the signature, and only then parses the manifest, from
// the bytes whose digest the signature covers.
func (p *puller) fetchManifest(ctx context.Context) error {
	p.readOldMirror()
	if err := os.Mkdir(p.path(nextPath), 0o755); err != nil {
		return err
	}
	mURL, bURL := p.fetch.fileURL(manifest.Name), p.fetch.fileURL(manifest.BundleName)
	sum, err := p.download(ctx, manifest.Name, manifest.ManifestLimit, true, nextPath+"/"+manifest.Name, nil)
	if se := (*StatusError)(nil); errors.As(err, &se) && se.Code == 404 {
		return fmt.Errorf("%w: is %s the folder of a site built by conclave?", err, p.url)
	}
	if err != nil {
		return err
	}
	var bundle bytes.Buffer
	err = p.fetch.get(ctx, manifest.BundleName, manifest.BundleLimit, true, func(body io.Reader) error {
		bundle.Reset()
		_, err := bundle.ReadFrom(body)
		return err
	})
	if se := (*StatusError)(nil); errors.As(err, &se) && se.Code == 404 {
		return fmt.Errorf("%w: the site is %v: it has no %s", err, sign.ErrNotSigned, manifest.BundleName)
	}
	if err != nil {
		return err
	}
	sig, err := p.signer.policy().VerifyDigest(bundle.Bytes(), sum)
	switch {
	case errors.Is(err, sign.ErrManifestChanged):
		return fmt.Errorf("%s: %w (if the site is being published right now, pull again in a minute)", mURL, err)
	case err != nil && p.state != nil:
		return &SignerError{State: p.statePath(StateFile), Remembered: p.signer.String(),
			Err: fmt.Errorf("%s: not signed by %s, the signer remembered in %s: %w", bURL, p.signer, p.statePath(StateFile), err)}
	case err != nil:
		return fmt.Errorf("%s: %w", bURL, err)
	}
	p.report.Signer, p.report.Signed = sig.Signer, sig.Time
	entries, err := manifest.ReadEntries(p.fsys, nextPath+"/"+manifest.Name, mURL, manifest.ManifestLimit, sum)
	if located := (*diag.Error)(nil); err != nil && !errors.As(err, &located) {
		return fmt.Errorf("%s: %w", mURL, err)
	}
	if err != nil {
		return err
	}
	p.entries = entries
	p.report.Files = len(entries)
	return os.WriteFile(p.path(nextPath+"/"+manifest.BundleName), bundle.Bytes(), 0o644)
}

// readOldMirror reads the manifest of the mirror there is, to know which
// files it holds. It is not verified: each file taken from the mirror is
// hashed again. A mirror whose manifest cannot be read gives nothing.
func (p *puller) readOldMirror() {
	if _, err := os.Lstat(p.path(MirrorDir)); errors.Is(err, fs.ErrNotExist) {
		p.first = true
		p.report.First = true
		return
	}
	f, _, err := manifest.OpenFile(p.fsys, MirrorDir+"/"+manifest.Name, manifest.ManifestLimit)
	if err != nil {
		return
	}
	defer f.Close()
	entries, err := manifest.ParseReader(manifest.Name, io.LimitReader(f, manifest.MaxSize))
	if err == nil {
		p.oldEntries = entries
	}
}

// group is the paths of the new manifest that hold one content.
type group struct {
	sum   [sha256.Size]byte
	paths []string
}

// How a group's content was placed in the new mirror.
const (
	placedReused = iota
	placedResumed
	placedFetched
)

// assemble puts every file of the new manifest in the mirror being
// assembled: from the previous mirror, from an interrupted pull's objects,
// or downloaded, in parallel. The first failure stops the others.
func (p *puller) assemble(ctx context.Context) error {
	var groups []*group
	bySum := map[[sha256.Size]byte]*group{}
	for _, e := range p.entries {
		g := bySum[e.Sum]
		if g == nil {
			g = &group{sum: e.Sum}
			bySum[e.Sum] = g
			groups = append(groups, g)
		}
		g.paths = append(g.paths, e.Path)
	}
	old := make(map[[sha256.Size]byte]string, len(p.oldEntries))
	for _, e := range p.oldEntries {
		old[e.Sum] = e.Path
	}
	if err := p.stateFolder(objectsPath); err != nil {
		return err
	}
	objects, err := p.listObjects()
	if err != nil {
		return err
	}

	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu       sync.Mutex
		firstErr error
		counts   [3]int
		done     atomic.Int64
	)
	if p.opt.Progress != nil {
		stop := p.progress(&done, len(p.entries))
		defer stop()
	}
	dirs := &sync.Map{}
	// release.json first, alone: a release that would take the folder
	// back in time is refused before anything else is downloaded.
	release := slices.IndexFunc(groups, func(g *group) bool { return slices.Contains(g.paths, format.ReleaseFile) })
	if release >= 0 {
		g := groups[release]
		groups = slices.Delete(groups, release, release+1)
		how, err := p.place(ctx, g, old, objects, dirs)
		if err := parent.Err(); err != nil {
			return fmt.Errorf("stopped (%w): the files downloaded and checked so far are kept for the next pull", context.Cause(parent))
		}
		if err != nil {
			return err
		}
		counts[how] += len(g.paths)
		done.Add(int64(len(g.paths)))
	}
	if err := p.checkRelease(release >= 0); err != nil {
		return err
	}
	par.Do(len(groups), p.fetch.net.Parallel, func(i int) {
		if ctx.Err() != nil {
			return
		}
		g := groups[i]
		how, err := p.place(ctx, g, old, objects, dirs)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
				cancel(err)
			}
			return
		}
		counts[how] += len(g.paths)
		done.Add(int64(len(g.paths)))
	})
	if err := parent.Err(); err != nil {
		return fmt.Errorf("stopped (%w): the files downloaded and checked so far are kept for the next pull", context.Cause(parent))
	}
	if firstErr != nil {
		return firstErr
	}
	p.report.Reused, p.report.Resumed, p.report.Fetched = counts[placedReused], counts[placedResumed], counts[placedFetched]
	return nil
}

// listObjects returns the digests of the files an interrupted pull
// downloaded and checked.
func (p *puller) listObjects() (map[[sha256.Size]byte]bool, error) {
	entries, err := os.ReadDir(p.path(objectsPath))
	if err != nil {
		return nil, err
	}
	objects := map[[sha256.Size]byte]bool{}
	for _, e := range entries {
		var sum [sha256.Size]byte
		if n, err := hex.Decode(sum[:], []byte(e.Name())); err == nil && n == sha256.Size && e.Type().IsRegular() {
			objects[sum] = true
		}
	}
	return objects, nil
}

// place puts the content of g at each of its paths in the mirror being
// assembled, and says where it came from.
func (p *puller) place(ctx context.Context, g *group, old map[[sha256.Size]byte]string, objects map[[sha256.Size]byte]bool, dirs *sync.Map) (int, error) {
	first := nextPath + "/" + g.paths[0]
	if err := p.mkdirs(path.Dir(first), dirs); err != nil {
		return 0, err
	}
	limit := manifest.SizeLimit(g.paths[0])
	object := objectsPath + "/" + hex.EncodeToString(g.sum[:])
	how := placedFetched
	switch {
	case old[g.sum] != "" && p.reuse(MirrorDir+"/"+old[g.sum], first, g.sum, limit):
		how = placedReused
	case objects[g.sum] && p.reuse(object, first, g.sum, limit):
		how = placedResumed
	default:
		if _, err := p.download(ctx, g.paths[0], limit, false, object, &g.sum); err != nil {
			return 0, err
		}
		if err := p.link(object, first); err != nil {
			return 0, err
		}
	}
	for _, other := range g.paths[1:] {
		dst := nextPath + "/" + other
		if err := p.mkdirs(path.Dir(dst), dirs); err != nil {
			return 0, err
		}
		if err := p.link(first, dst); err != nil {
			return 0, err
		}
	}
	return how, nil
}

// mkdirs makes the folder dir of the mirror being assembled, and those
// above it, once.
func (p *puller) mkdirs(dir string, made *sync.Map) error {
	if _, ok := made.Load(dir); ok {
		return nil
	}
	if err := os.MkdirAll(p.path(dir), 0o755); err != nil {
		return err
	}
	made.Store(dir, true)
	return nil
}

// reuse links (or copies) the file src, of the previous mirror or an
// interrupted pull, to dst, and keeps it there if its content is still
// sum: it may have changed on disk since it was checked.
func (p *puller) reuse(src, dst string, sum [sha256.Size]byte, limit manifest.Limit) bool {
	if info, err := os.Lstat(p.path(src)); err != nil || !info.Mode().IsRegular() {
		return false
	}
	if err := p.link(src, dst); err != nil {
		return false
	}
	got, err := manifest.HashFile(p.fsys, dst, limit)
	if err != nil || got != sum {
		os.Remove(p.path(dst))
		return false
	}
	return true
}

// link makes dst the file src: a hard link, or a copy where there are
// none.
func (p *puller) link(src, dst string) error {
	err := os.Link(p.path(src), p.path(dst))
	if err == nil {
		return nil
	}
	in, _, err := manifest.OpenFile(p.fsys, src, manifest.Limit{})
	if err != nil {
		return fmt.Errorf("%s: %w", p.path(src), err)
	}
	defer in.Close()
	out, err := os.OpenFile(p.path(dst), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.path(dst))
		return fmt.Errorf("copying %s to %s: %w", p.path(src), p.path(dst), err)
	}
	return nil
}

// download fetches the file at the slash path rel of the site into the
// file to (a slash path from DIR), through a temporary file beside it, and
// returns the SHA-256 digest of what it wrote. With want, a file whose
// digest is not want is refused, and to is not written.
func (p *puller) download(ctx context.Context, rel string, limit manifest.Limit, fresh bool, to string, want *[sha256.Size]byte) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	tmp := path.Dir(to) + "/.tmp-" + rand.Text()
	f, err := os.OpenFile(p.path(tmp), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return sum, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(p.path(tmp))
		}
	}()
	h := sha256.New()
	err = p.fetch.get(ctx, rel, limit, fresh, func(body io.Reader) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		h.Reset()
		_, err := io.Copy(io.MultiWriter(f, h), body)
		return err
	})
	if err != nil {
		return sum, err
	}
	if h.Sum(sum[:0]); want != nil && sum != *want {
		return sum, fmt.Errorf("%s: %s: refused (the server sent other bytes than the signed release lists; if the site is being published right now, pull again in a minute)",
			p.fetch.fileURL(rel), manifest.ReasonChanged)
	}
	done = true
	if err := f.Close(); err != nil {
		os.Remove(p.path(tmp))
		return sum, err
	}
	if err := os.Rename(p.path(tmp), p.path(to)); err != nil {
		os.Remove(p.path(tmp))
		return sum, err
	}
	return sum, nil
}

// swap puts the assembled mirror in the old one's place, in one atomic
// exchange where the system has one, then drops the objects, which the new
// mirror now holds. The old mirror is removed in the background, while
// the readable copy is written ([puller.close] waits for it); a pull that
// stops first leaves it to the next, which removes it.
func (p *puller) swap() error {
	next, site := p.path(nextPath), p.path(MirrorDir)
	old := ""
	switch {
	case p.first:
		if err := os.Rename(next, site); err != nil {
			return err
		}
	case exchange(next, site) == nil:
		old = next
	default:
		old = filepath.Join(p.dir, StateDir, asideDir)
		if err := os.Rename(site, old); err != nil {
			return err
		}
		if err := os.Rename(next, site); err != nil {
			if err2 := os.Rename(old, site); err2 != nil {
				return fmt.Errorf("%w; the previous mirror is in %s", err, old)
			}
			return err
		}
	}
	if old != "" {
		done := make(chan struct{})
		go func() {
			defer close(done)
			os.RemoveAll(old)
		}()
		p.removing = done
	}
	return os.RemoveAll(p.path(objectsPath))
}

// path returns the path of the file at the slash path rel of DIR.
func (p *puller) path(rel string) string { return filepath.Join(p.dir, filepath.FromSlash(rel)) }

// stateFolder makes the folder rel of the pull's state, or checks the one
// there: a link (planted to have downloads written elsewhere, and linked
// into the mirror from there) or anything but a folder is refused.
func (p *puller) stateFolder(rel string) error {
	info, err := os.Lstat(p.path(rel))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.Mkdir(p.path(rel), 0o700)
	case err != nil:
		return err
	case !info.IsDir():
		return fmt.Errorf("%s is not a folder (a symbolic link?): nothing is written through it; remove it and pull again", p.path(rel))
	}
	return nil
}

// progress writes a progress line to opt.Progress until the function it
// returns is called, which clears it.
func (p *puller) progress(done *atomic.Int64, total int) (stop func()) {
	return progress.Line(p.opt.Progress, func() string {
		return fmt.Sprintf("conclave: pulling %s: %d of %d files, %s", p.url.Host, done.Load(), total, progress.Size(p.fetch.bytes.Load()))
	})
}
