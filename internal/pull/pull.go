// Package pull keeps a verified local mirror of a published site and a
// readable copy of it for the reader's identities (DESIGN §10): what
// conclave pull does.
//
// # The folder
//
// A pull writes into one folder, DIR:
//
//	DIR/site/           the mirror: exactly the files SHA256SUMS lists, with
//	                    SHA256SUMS and its bundle (conclave verify DIR/site
//	                    passes)
//	DIR/readable/       the readable copy for the reader's identities, as
//	                    conclave open writes it (restricted text: private)
//	DIR/.conclave-pull/ the pull's own files: pull.json (the site's URL and
//	                    the signer, remembered by the first pull, and the
//	                    time of the release held), objects/
//	                    (files downloaded and checked by a pull that has not
//	                    finished, by digest), next/ (the mirror being
//	                    assembled) and a lock
//
// DIR must be new, empty, or written by a pull before.
//
// # What is checked
//
// A pull fetches SHA256SUMS and its bundle, and checks the bundle's
// signature over SHA256SUMS for the expected signer before it reads the
// manifest: the signer given ([Options.Signer]), which the first pull
// remembers, or the one remembered. A signer given later must be the one
// remembered, and a site signed by anyone else is refused
// ([SignerError]). Every file the manifest lists is then taken from the
// previous mirror or from an interrupted pull when a file there has the
// listed digest (hard-linked, or copied where there are no links, and
// hashed again: what is on disk may have changed), or else downloaded and
// checked against its digest as it arrives. The new mirror
// is assembled beside the old one and swapped in as a whole: on any
// failure, the previous mirror and readable copy are as they were. The
// readable copy is then written by [open.SiteContext], which checks each
// file against the verified manifest as it reads it.
//
// # Going back in time
//
// A genuine signed release stays genuine: a server could serve an old one
// in place of the new. Each release dates itself in release.json, which
// its manifest lists, and a pull refuses a release older than the one the
// folder holds, an undated one once a release was dated, and one dated
// more than [MaxAhead] ahead of this machine's clock ([ReleaseError]).
// release.json is fetched and checked first, before any other file.
// A release of the same time as the one held is accepted.
//
// # The network
//
// The site is fetched over HTTPS; plain HTTP only to this machine
// (127.0.0.1, ::1 or localhost, which must resolve to a loopback address). Every
// request is bounded ([Net]): connection, response and idle timeouts and
// one for each file as a whole; a few tries, with exponential backoff, on
// a 5xx status or a network error, never on a 4xx status or a wrong
// digest; at most [manifest.SizeLimit] bytes of each file (the bundle's
// and the manifest's limits for those two), refused from the
// Content-Length or cut off one byte past the limit; redirects only to
// the same scheme and host, a few of them. Files are downloaded in
// parallel, a bounded number at a time.
//
// # Resuming
//
// Each file downloaded is kept under its digest in DIR/.conclave-pull/objects
// as soon as it is checked, until a pull completes: a pull that was
// interrupted or failed starts again without downloading those files
// again (they are hashed again before they are used).
//
// # What changed
//
// The [Report] says what is new, changed or removed for this reader since
// the last pull: the files of the readable copy, compared with the copy it
// replaces, pages compared as the reader sees them (a passage sealed for
// someone else, which the build may encrypt anew, is not a change), with
// the passages the reader may read that are new or changed on each page.
// Without identities, no readable copy is written, and the files of the
// site outside packets/ are compared by digest.
package pull

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/open"
)

// The folders and files of DIR.
const (
	MirrorDir   = "site"           // the verified mirror
	ReadableDir = "readable"       // the readable copy
	StateDir    = ".conclave-pull" // the pull's own files
	StateFile   = "pull.json"      // in StateDir: URL and signer
	objectsDir  = "objects"        // in StateDir: checked files by digest
	nextDir     = "next"           // in StateDir: the mirror being assembled
	asideDir    = "old"            // in StateDir: the old mirror, while swapped
	lockFile    = "lock"           // in StateDir
)

// Options say what to pull where, and how.
type Options struct {
	// URL is the site's root folder: the URL of its SHA256SUMS without
	// the name (the name is allowed too).
	URL string
	// Dir is the folder the pull writes into (see the package's doc).
	Dir string
	// Signer is who must have signed the site. nil means the signer
	// remembered in Dir by the first pull, which then must exist; a
	// signer given to a later pull must be the one remembered.
	Signer *Signer
	// Identities open the readable copy, as for conclave open. None: only
	// the mirror is updated.
	Identities []age.Identity
	// RootCAs are the certificate authorities trusted for HTTPS; nil means
	// the system's.
	RootCAs *x509.CertPool
	// Net bounds the network side; zero fields take the defaults.
	Net Net
	// Progress, if set, gets a progress line, rewritten in place with
	// carriage returns: give it a terminal only.
	Progress io.Writer
}

// Report says what a pull did. It is also the JSON that conclave pull
// --json prints, whose fields are documented here and stay stable: a
// field is only ever added.
type Report struct {
	// Version is the version of this JSON form: 1.
	Version int `json:"version"`
	// Site is the URL of the site's root folder.
	Site string `json:"site"`
	// Mirror and Readable are the folders of the mirror and of the
	// readable copy; Readable is "" when no readable copy was written (no
	// identities given, or it could not be written).
	Mirror   string `json:"mirror"`
	Readable string `json:"readable,omitempty"`
	// Signer is who signed the site ("key SHA256:…", or an identity and
	// its issuer), and Signed when, if a verified timestamp says so.
	Signer string    `json:"signer"`
	Signed time.Time `json:"signed,omitzero"`
	// Release is the release's time, from its release.json, in UTC;
	// absent for a site built before releases were dated. A pull refuses
	// a release older than the one it holds ([ReleaseError]).
	Release time.Time `json:"release,omitzero"`
	// First is set on the first pull into the folder.
	First bool `json:"first"`
	// Files is how many files SHA256SUMS lists; each was Fetched
	// (downloaded), Reused (from the previous mirror) or Resumed
	// (downloaded by an interrupted pull). A content listed at several
	// paths is downloaded once and counts for each.
	Files   int `json:"files"`
	Fetched int `json:"fetched"`
	Reused  int `json:"reused"`
	Resumed int `json:"resumed"`
	// Requests is how many HTTP requests were made, SHA256SUMS, its
	// bundle, retries and redirects included; Bytes is how many bytes of
	// response bodies were read.
	Requests int64 `json:"requests"`
	Bytes    int64 `json:"bytes"`
	// New, Changed and Removed list what changed for this reader since
	// the last pull, by path in the readable copy (see the package's doc),
	// sorted. They are empty, never null.
	New     []Change `json:"new"`
	Changed []Change `json:"changed"`
	Removed []Change `json:"removed"`
	// Opened says what opening the readable copy did; nil when it was not
	// written.
	Opened *Opened `json:"opened,omitempty"`
}

// Change is a file new, changed or removed for the reader.
type Change struct {
	Path string `json:"path"` // slash path in the readable copy (or the site)
	// Passages counts the sealed passages on the page that the reader may
	// read and that are new or changed: a passage that holds a changed
	// passage counts too. 0 for a removed file and without identities.
	Passages int `json:"passages"`
}

// Opened is what writing the readable copy did (conclave open's report).
type Opened struct {
	Passages       int `json:"passages"`    // sealed passages opened
	NotForYou      int `json:"notForYou"`   // sealed for audiences the identities are not in
	Failed         int `json:"failed"`      // could not be opened: left sealed, each a warning
	Pages          int `json:"pages"`       // pages holding sealed passages
	Attachments    int `json:"attachments"` // sealed files written at their paths in the copy
	Again          int `json:"again"`       // pages taken from the copy it replaced: same page, same keys
	Keyrings       int `json:"keyrings"`
	KeyringsOpened int `json:"keyringsOpened"`
}

// OpenError is the error of a pull that updated the mirror but could not
// write the readable copy: the previous copy, if any, is as it was.
type OpenError struct {
	Mirror, Readable string
	Err              error
}

func (e *OpenError) Error() string { return e.Err.Error() }
func (e *OpenError) Unwrap() error { return e.Err }

// Pull brings the mirror in opt.Dir up to date with the site at opt.URL,
// then writes the readable copy for opt.Identities. It returns a report
// once the mirror is updated, with an error if the readable copy could not
// be written ([*OpenError]) or was written incomplete
// ([*open.IncompleteError], whose problems name each file). Any other
// error leaves the mirror and the readable copy as they were.
//
// Stopped by ctx (the reader pressed Ctrl-C), it keeps what it downloaded
// and checked, for the next pull.
func Pull(ctx context.Context, opt Options) (*Report, error) {
	p, err := start(opt)
	if err != nil {
		return nil, err
	}
	defer p.close()
	if err := p.fetchManifest(ctx); err != nil {
		return nil, err
	}
	if err := p.assemble(ctx); err != nil {
		return nil, err
	}
	if err := p.swap(); err != nil {
		return nil, err
	}
	if err := p.remember(); err != nil {
		p.finishReport()
		return &p.report, fmt.Errorf("the mirror %s was updated, but the signer could not be remembered: %w", p.report.Mirror, err)
	}
	err = p.openCopy(ctx)
	p.finishReport()
	return &p.report, err
}

// start checks the options and the folder, takes the folder's lock, and
// settles who must have signed the site.
func start(opt Options) (*puller, error) {
	u, err := SiteURL(opt.URL)
	if err != nil {
		return nil, err
	}
	if opt.Dir == "" {
		return nil, errors.New("no folder to pull into")
	}
	// Before anything is written: a first pull must name the signer.
	if opt.Signer != nil {
		if err := opt.Signer.policy().Check(); err != nil {
			return nil, err
		}
	} else if _, err := os.Lstat(filepath.Join(opt.Dir, StateDir, StateFile)); err != nil {
		return nil, &NoSignerError{Dir: opt.Dir}
	}
	p := &puller{opt: opt, dir: opt.Dir, url: u}
	p.report = Report{Version: 1, Site: u.String(), Mirror: filepath.Join(opt.Dir, MirrorDir)}
	if err := p.openDir(); err != nil {
		p.close()
		return nil, err
	}
	if err := p.settleSigner(); err != nil {
		p.close()
		return nil, err
	}
	p.fetch = newFetcher(u, opt.Net, opt.RootCAs)
	return p, nil
}

// finishReport fills in what the fetcher counted.
func (p *puller) finishReport() {
	p.report.Requests = p.fetch.requests.Load()
	p.report.Bytes = p.fetch.bytes.Load()
	if p.report.New == nil {
		p.report.setChanges(changes{})
	}
}

// openCopy writes the readable copy, if there are identities, and lists
// what changed for the reader.
func (p *puller) openCopy(ctx context.Context) error {
	if len(p.opt.Identities) == 0 {
		p.report.setChanges(siteChanges(p.oldEntries, p.entries))
		return nil
	}
	out := filepath.Join(p.dir, ReadableDir)
	before, err := readView(out)
	if err != nil {
		return &OpenError{Mirror: p.report.Mirror, Readable: out, Err: fmt.Errorf("reading the readable copy %s to compare: %w", out, err)}
	}
	rep, err := open.SiteContext(ctx, p.report.Mirror, out, p.opt.Identities, open.VerifiedSums(p.entries))
	var incomplete *open.IncompleteError
	if err != nil && !errors.As(err, &incomplete) {
		return &OpenError{Mirror: p.report.Mirror, Readable: out, Err: err}
	}
	p.report.Readable = out
	p.report.Opened = &Opened{
		Passages: rep.Opened, NotForYou: rep.NotForYou, Failed: rep.Failed, Pages: rep.Pages,
		Attachments: rep.Attachments, Again: rep.Again, Keyrings: rep.Keyrings, KeyringsOpened: rep.KeyringsOpened,
	}
	after, verr := readView(out)
	if verr != nil {
		return errors.Join(err, fmt.Errorf("reading the readable copy %s to compare: %w", out, verr))
	}
	p.report.setChanges(viewChanges(before, after))
	return err
}
