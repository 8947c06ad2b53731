// Package build runs the stages of a site build in order (load, parse and
// validate, render, write, manifest) and reports what it did.
//
// A build to a directory writes into a temporary folder and swaps it into
// place only if every stage succeeded: a failed build leaves the previous
// output exactly as it was.
package build

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
)

// Options controls a build.
type Options struct {
	Source string // site root, holding conclave.toml; default "."
	Out    string // output folder; default <Source>/public
	Drafts bool   // include pages marked draft: true
	// CacheKey opens the seal cache in <Source>/.conclave (see
	// [seal.Cache]); nil builds without it, encrypting every block anew.
	// Memory builds read the cache but never write it.
	CacheKey []byte
	// Getenv looks up the environment variables that hold the passphrases
	// of passphrase keys (keys/NAME.pub: "passphrase env:NAME"); the
	// command passes os.Getenv. nil: no variable is set, and a site with a
	// passphrase key does not build.
	Getenv func(string) string
	// Preview builds the author's preview, for a server on the author's
	// own machine (conclave serve): restricted passages are not sealed but
	// shown in clear, each inside a banner naming its audience and label,
	// and every page says that it is a preview. Audiences and labels are
	// checked as in a published build, which fails where the preview
	// fails. Nothing is encrypted, neither packets/ nor SHA256SUMS are
	// written (a preview is no release), the seal cache is neither read
	// nor written and the leak scan is skipped. Only [Memory] builds a
	// preview: [Run] refuses it.
	Preview bool
	// Now is the release's time, written in release.json
	// ([format.ReleaseFile], which SHA256SUMS lists): readers that pull
	// the site refuse a release older than one they already hold. It is
	// written in UTC, to the second; the zero value means the time the
	// build starts. The command sets it (from SOURCE_DATE_EPOCH, for
	// reproducible builds); a preview writes no release.json.
	Now time.Time
	// AsOf is the time whose embargoes the build lifts (DESIGN §12):
	// zero means the time the build starts, never Now, which a
	// reproducible build may set to any time. Any other time builds the
	// site as it was or will be, for a look ahead: [Run] refuses to write
	// it into the site's own public/, where it would be published.
	AsOf time.Time
}

// clock is the time embargoes are lifted as of, when the build is not
// given one: the machine's. Tests set it.
var clock = time.Now

// ErrAsOfPublic is returned by [Run] for a build as of another time
// ([Options.AsOf]) into the site's public/.
var ErrAsOfPublic = errors.New("a build as of another time (--now) lifts embargoes early or late: it is never written to the site's public/ folder; give --out another folder, or preview it with conclave serve --at")

// ErrPreviewToDisk is returned by [Run] for a preview build.
var ErrPreviewToDisk = errors.New("preview builds are never written to disk: they hold restricted passages in clear (build without preview to publish)")

// testOnlySkipLeakScan turns the output scan off, so that tests can check
// that redaction alone publishes nothing restricted, and that the scan
// catches whatever it would miss.
var testOnlySkipLeakScan bool

// CacheDir is the folder of a site's local cache, never published.
const CacheDir = ".conclave"

// Report says what a build did.
type Report struct {
	// AsOf is the time whose embargoes the build lifted ([Options.AsOf]);
	// LookAhead says it was given, not the build's own start.
	AsOf      time.Time
	LookAhead bool
	// Embargoes are the embargoes of the site's pages, lifted or not, by
	// time.
	Embargoes  []EmbargoReport
	Out        string // output folder, or "" for memory
	Briefings  int    // briefing pages
	Lists      int    // home, section, tag and tag index pages
	Tags       int
	Files      int   // every file written, SHA256SUMS included
	Bytes      int64 // their total size
	Drafts     int   // drafts left out
	DraftFiles int   // content files left out because only drafts link to them
	Reused     int   // pages, intros and lists published again from the last build's records
	Unread     int   // of the files of those, how many by their stamp, without reading them (see output.Stamp)
	Duration   time.Duration
	Warnings   []*diag.Warning
	Seal       seal.Stats
	Search     SearchReport
	Scan       ScanReport // the leak scan's files
	// Previewed counts the restricted passages a preview build rendered
	// in clear, and the pages restricted as a whole among them; Seal is
	// then empty.
	Previewed, PreviewedPages int
}

// Run builds the site into its output folder. It refuses a preview
// ([Options.Preview]) before anything is read or written.
func Run(opt Options) (*Report, error) {
	if opt.Preview {
		return nil, ErrPreviewToDisk
	}
	start := time.Now()
	src := cmp.Or(opt.Source, ".")
	out := opt.Out
	if out == "" {
		out = filepath.Join(src, "public")
	}
	if err := checkOut(src, out); err != nil {
		return nil, err
	}
	asOf := opt.AsOf
	if asOf.IsZero() {
		asOf = clock()
	} else if inPublic, err := within(out, filepath.Join(src, "public")); err != nil || inPublic {
		return nil, cmp.Or(err, ErrAsOfPublic)
	}
	// The caches are read, and the output folder checked, while the site
	// loads: none needs another.
	record := opt.CacheKey != nil && opt.AsOf.IsZero()
	caches := make(chan cachesRead, 1)
	go func() { caches <- readCaches(src, opt.CacheKey, record) }()
	type replace struct {
		r   output.Replaceable
		err error
	}
	checked := make(chan replace, 1)
	go func() {
		r, err := output.CheckReplace(out)
		checked <- replace{r, err}
	}()
	// The pages as the last build read them: a file whose bytes are the
	// same is not checked and parsed again.
	var read *site.PageCache
	if record {
		var err error
		if read, err = loadRead(src, opt.CacheKey); err != nil {
			return nil, err
		}
	}
	// Load first, so that a site with errors never creates a temporary folder.
	s, err := site.Load(src, site.Options{Drafts: opt.Drafts, Out: out, Now: asOf, Pages: read})
	c := <-caches
	if err != nil {
		return nil, err
	}
	if c.err != nil {
		return nil, c.err
	}
	// Saved for the next build now, beside the build: the cache holds
	// every page's markdown, which the pages hold only until they are
	// done (see builder.once). Whatever the build does next, the pages
	// were read as the cache says.
	readSaved := func() error { return nil }
	if record {
		done := make(chan struct{})
		var err error
		go func(c *site.PageCache) {
			defer close(done)
			err = saveRead(src, opt.CacheKey, c)
		}(read)
		readSaved = func() error { <-done; return err }
		defer readSaved() // nothing is left being written when Run returns
	}
	replaced := <-checked
	if replaced.err != nil {
		return nil, replaced.err
	}
	dir, err := replaced.r.NewDir()
	if err != nil {
		return nil, err
	}
	// Packets are written once, in name order, by the order stage.
	if err := dir.Hold(format.PacketDir, packetMemory); err != nil {
		return nil, err
	}
	b := &builder{site: s, out: dir, cache: c.seal, getenv: opt.Getenv, record: record, once: true, now: releaseTime(opt.Now), asOf: asOf, lookAhead: !opt.AsOf.IsZero(), readSaved: readSaved}
	finish := b.toDisk(dir, src, opt.CacheKey)
	if c.pagesWarning != "" {
		s.Warnings = append(s.Warnings, diag.Errorf(CacheDir, 0, "%s", c.pagesWarning))
	}
	if b.record {
		b.last = &lastBuild{records: c.pages, read: dir.ReadPrevious, republish: dir.Reuse, stamped: dir.ReuseStamped}
	}
	rep, err := b.run()
	if rep != nil && c.sealWarning != nil {
		rep.Warnings = append(rep.Warnings, c.sealWarning)
	}
	if err != nil {
		dir.Abort()
		finish(false)
		return rep, err
	}
	if err := dir.SetTimes(b.now); err != nil {
		dir.Abort()
		finish(false)
		return rep, fmt.Errorf("dating %s: %w", out, err)
	}
	if err := dir.Commit(); err != nil {
		dir.Abort()
		finish(false)
		return rep, fmt.Errorf("replacing %s: %w", out, err)
	}
	rep.Warnings = append(rep.Warnings, finish(true)...)
	rep.Out = out
	rep.Duration = time.Since(start)
	return rep, nil
}

// toDisk sets b up to build into dir: page folders made in address
// order, packets put in name order, the caches saved. The caller calls
// finish once the build is in place (in) or has failed: it gives the
// records their stamps, then waits for the caches to be saved and
// returns the warnings of what could not be.
func (b *builder) toDisk(dir *output.Dir, src string, key []byte) (finish func(in bool) []*diag.Warning) {
	b.makeFolder = dir.MakeFolder
	b.orderPackets = func() error {
		if err := dir.Order(format.PacketDir); err != nil {
			return fmt.Errorf("ordering %s: %w", dir.Path(), err)
		}
		return nil
	}
	// The stamps of the files the records name, once the build is in
	// place: the records are saved meanwhile, and the stamps last.
	stamps := make(chan map[string]output.Stamp, 1)
	// The caches are saved while the packets are put in order and the
	// output is dated and put in place. Saved for a build whose output
	// then fails to replace the last one, they are still sound: a record
	// whose page the output does not hold as written is not used (see
	// builder.take), and a sealed passage is the same ciphertext whichever
	// build publishes it.
	b.saveCaches = func() []*diag.Warning {
		if b.records != nil {
			b.records.stamped = func() map[string]output.Stamp { return <-stamps }
		}
		return b.saveTo(src, key)
	}
	return func(in bool) []*diag.Warning {
		if in && b.records != nil {
			stamps <- dir.Stamps(b.records.outputs())
		} else {
			stamps <- nil
		}
		return b.saved()
	}
}

// cachesRead is what readCaches read: the seal cache, and the page
// records if the build makes records (see builder.record).
type cachesRead struct {
	seal         *seal.Cache
	sealWarning  *diag.Warning
	pages        *pagesData
	pagesWarning string
	err          error
}

// readCaches opens the seal cache of the site at src and, with records,
// reads its page records, if a key is given.
func readCaches(src string, key []byte, records bool) (c cachesRead) {
	if !records {
		c.seal, c.sealWarning, c.err = openCache(src, key)
		return c
	}
	// Side by side: neither needs the other.
	var pages cachesRead
	done := make(chan struct{})
	go func() {
		defer close(done)
		pages.pages, pages.pagesWarning, pages.err = loadPages(src, key)
	}()
	c.seal, c.sealWarning, c.err = openCache(src, key)
	<-done
	if c.err != nil {
		return c
	}
	c.pages, c.pagesWarning, c.err = pages.pages, pages.pagesWarning, pages.err
	return c
}

// saveTo saves the seal cache and, if the build made them, its page
// records, and returns what it could not save as warnings. Only a
// published build is worth remembering: not one as of another time (see
// Options.AsOf), whose lifted passages the cache would forget.
func (b *builder) saveTo(src string, key []byte) []*diag.Warning {
	var warnings []*diag.Warning
	if b.lookAhead {
		return nil
	}
	if err := b.cache.Save(); err != nil {
		warnings = append(warnings, diag.Errorf(CacheDir, 0, "could not save the seal cache: %v (the next build encrypts every block anew)", err))
	}
	if b.record {
		if err := savePages(src, key, b.records); err != nil {
			warnings = append(warnings, diag.Errorf(CacheDir, 0, "could not save the page cache: %v (the next build renders every page anew)", err))
		}
		if err := b.readSaved(); err != nil {
			warnings = append(warnings, diag.Errorf(CacheDir, 0, "could not save the read cache: %v (the next build parses every page anew)", err))
		}
	}
	return warnings
}

// Memory builds the site into memory, for the preview server. With
// [Options.Preview], it builds the author's preview, and does not open the
// seal cache. It is the first build of a new [Session].
func Memory(opt Options) (*Report, *output.Memory, error) {
	return NewSession(opt).Build(nil)
}

// openCache opens the seal cache of the site at src, if a key is given.
// A cache that cannot be used is a warning: the build goes on without it.
func openCache(src string, key []byte) (*seal.Cache, *diag.Warning, error) {
	if key == nil {
		return nil, nil, nil
	}
	c, warning, err := seal.OpenCache(filepath.Join(src, CacheDir), key)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the seal cache: %w", err)
	}
	if warning != "" {
		return c, diag.Errorf(CacheDir, 0, "%s", warning), nil
	}
	return c, nil, nil
}

// draftOnlyFiles returns the content files that drafts left out of the
// build link to and no published page does: they stay out with the drafts.
func draftOnlyFiles(s *site.Site, conv *markdown.Converter, linked map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, p := range s.DraftPages {
		for _, l := range conv.Parse(p, nil).Links {
			if f, ok := s.FileTarget(p, l.Dest); ok && !linked[f] {
				out[f] = true
			}
		}
	}
	return out
}

// copyFiles publishes the content files, except those in leaveOut, in
// clear. A file too large to hold is copied as a stream; one larger than
// [site.MaxFileSize] may only be sealed, and is refused (a preview, which
// holds its files in memory, shows a note in its place).
func copyFiles(s *site.Site, leaveOut map[string]bool, emit render.Emit, out output.Writer, preview bool) error {
	var errs diag.List
	for _, f := range s.Files {
		if leaveOut[f.Path] {
			continue
		}
		var err error
		switch {
		case f.Len() > site.MaxFileSize && preview:
			err = emit(f.OutPath, fmt.Appendf(nil, "%s: %d bytes, too large for the preview to show; the published site seals it as an attachment\n", f.Path, f.Len()))
		case f.Len() > site.MaxFileSize:
			errs.Add(diag.Errorf(f.Path, 0, "%d bytes, more than the %d MiB a file published in clear may hold: link it only from restricted text to seal it as an attachment (up to %d GiB), or publish it elsewhere and link to it",
				f.Len(), site.MaxFileSize>>20, format.MaxAttachmentSize>>30))
			continue
		case f.Streamed():
			err = copyStreamed(out, f)
		default:
			err = emit(f.OutPath, f.Data)
		}
		if err != nil {
			var d *diag.Error
			if errors.As(err, &d) {
				errs.Add(d)
			} else {
				errs.Add(&diag.Error{File: f.Path, Msg: err.Error(), Err: err})
			}
		}
	}
	return errs.Err()
}

// copyStreamed copies a file too large to hold into out, as a stream,
// checked as it is read ([site.File.Each]).
func copyStreamed(out output.Writer, f site.File) error {
	if err := manifest.CheckPath(f.OutPath); err != nil {
		return err
	}
	s, err := out.Create()
	if err != nil {
		return err
	}
	defer s.Abort() // after Commit, a no-op
	if err := f.Each(true, func(chunk []byte) error {
		_, err := s.Write(chunk)
		return err
	}); err != nil {
		return err
	}
	return s.Commit(f.OutPath)
}

// checkOut refuses an output folder that would overwrite the site itself,
// comparing the paths with symbolic links resolved.
// within reports whether folder dir is folder parent or inside it, once
// symbolic links are resolved.
func within(dir, parent string) (bool, error) {
	d, err1 := site.RealPath(dir)
	p, err2 := site.RealPath(parent)
	if err := errors.Join(err1, err2); err != nil {
		return false, err
	}
	return site.Within(p, d), nil
}

func checkOut(src, out string) error {
	absSrc, err1 := filepath.Abs(src)
	absOut, err2 := filepath.Abs(out)
	realSrc, err3 := site.RealPath(src)
	realOut, err4 := site.RealPath(out)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("checking output %s: %w", out, err)
	}
	// how explains a refusal that only symbolic links lead to.
	how := func(lexical bool) string {
		if lexical {
			return ""
		}
		return " once symbolic links are resolved (it is " + realOut + ")"
	}
	if site.Within(realOut, realSrc) {
		return fmt.Errorf("output %s would contain the site itself%s: choose a folder such as %s", out, how(site.Within(absOut, absSrc)), filepath.Join(src, "public"))
	}
	for _, d := range []string{site.ContentDir, "keys", "themes", ".conclave"} {
		inner, err := site.RealPath(filepath.Join(realSrc, d))
		if err != nil {
			return fmt.Errorf("checking output %s: %w", out, err)
		}
		if site.Within(inner, realOut) {
			return fmt.Errorf("output %s is inside the site's %s/ folder%s: choose a folder such as %s", out, d, how(site.Within(filepath.Join(absSrc, d), absOut)), filepath.Join(src, "public"))
		}
	}
	return nil
}
