package build

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
)

// lastBuild is what a build may publish again from the last good build.
type lastBuild struct {
	records *pagesData      // its records; nil if there are none
	views   render.ViewSums // the digests of its records' views (see render.ViewSums); nil if not in memory
	// read and republish, for a last build on disk, read a file of its
	// output and publish it again, under its digest sum (as
	// output.Dir.Reuse does).
	read      func(p string) ([]byte, error)
	republish func(p string, data []byte, sum [sha256.Size]byte) error
	// stamped, for a last build on disk, publishes a file of it again if
	// its stamp is still st (as output.Dir.ReuseStamped does), and
	// reports whether it did; read and republish are then not used.
	stamped func(p string, st output.Stamp, sum [sha256.Size]byte) (bool, error)
	// carry, for a last build in memory, publishes a file of it again
	// and returns its bytes, in one lookup (read and republish are not
	// used); an error wrapping fs.ErrNotExist if it holds no such file.
	// Such an output cannot have changed since its records were made: its
	// files are not hashed again.
	carry func(p string) ([]byte, error)
}

// builder carries one build of a loaded site through its stages, in the
// order [builder.run] gives. Each stage reads what the earlier ones left
// in the builder. The parallel parts of a stage write only their own
// page's slot; the stage merges the slots afterwards, in page order.
type builder struct {
	// What to build, and how.
	site   *site.Site
	out    output.Writer
	cache  *seal.Cache // nil: every passage is encrypted anew
	last   *lastBuild  // nil: nothing is published again
	record bool        // make records for the next build (records, views)
	// once: the site is built once (not by a session, whose page cache
	// keeps pages for the next build), so a page's markdown is dropped
	// when the page is done (at 50,000 pages it is 250 MB), and the
	// links once checked.
	once    bool
	getenv  func(string) string
	preview bool // the author's preview (see Options.Preview)
	// asOf is the time whose embargoes are lifted; lookAhead says it was
	// given (Options.AsOf), and the build is not one to publish.
	asOf      time.Time
	lookAhead bool
	now       time.Time // the release's time (see Options.Now), in UTC, to the second
	// orderPackets writes the packets in name order (see output.Dir.Order),
	// and saveCaches saves the caches for the next build (see
	// builder.saveTo); nil for an output in memory, which has no order,
	// and whose caches are kept by its session.
	orderPackets func() error
	saveCaches   func() []*diag.Warning
	// makeFolder makes the folder of an output file before it is written
	// (output.Dir.MakeFolder); nil for an output in memory.
	makeFolder func(p string) error
	// readSaved waits for the pages as this build read them to be saved
	// for the next (see saveRead), and says if they could not be; a
	// session keeps its own page cache.
	readSaved func() error

	rep *Report

	// Set up by prepare.
	theme    *render.Theme
	conv     *markdown.Converter
	keys     *audience.Registry
	render   *render.Renderer
	scanning bool       // the leak scan runs: there are recipients, and this is no preview
	held     *heldFiles // files written, kept for the leak scan
	valid    *pagesData // the last build's records, if they still apply
	records  *pagesData // this build's records, for the next build
	links    *linkUse   // how published pages link to files and pages
	secrets  []leakcheck.Secret
	public   [][]byte // what the site publishes on purpose, for the leak scan

	// refused collects the mistakes that pages, checkUses and the seal
	// plan find, so that one build reports them all; seal stops there.
	refused diag.List

	// Left by pages and seal.
	views       []*render.PageView
	intros      map[string]*render.Intro // by folder: "" for the home page
	restricted  []parsed                 // parsed pages holding restricted blocks, by path
	republished []seal.Record            // passages of pages published again from their records
	draftOnly   map[string]bool          // content files only drafts link to
	attached    map[string]bool          // attachments: content files sealed, not published in clear

	// Left by seal, and pages and seal for searchIndex.
	sealer     *seal.Sealer // nil in a preview
	scanner    chan scanner // the leak scan's, from prepareScan; nil: no scan
	searchDocs []*search.Doc
	// index is the public search index of the last build, which a
	// session keeps and this build updates; nil: made anew.
	index      *search.PublicIndex
	sealedDocs []sealedDoc

	// Left by lists, and extras.
	listed  *render.ListsResult
	sitemap [sha256.Size]byte // the digest of what sitemap.xml lists

	unread atomic.Int64 // files take published by their stamp (Report.Unread)

	// ordering is orderPackets' result, from order, and saving
	// saveCaches', from save; nil: not started.
	ordering later[error]
	saving   later[[]*diag.Warning]
}

// parsed is a page parsed by this build, with the record it will leave.
type parsed struct {
	doc *markdown.Doc
	rec *pageRecord
}

// run builds the site into b.out and writes its manifest. With b.last,
// it publishes again the pages and lists whose records still apply; with
// b.record, it leaves this build's records in b.records.
func (b *builder) run() (*Report, error) {
	b.rep = &Report{Drafts: b.site.Drafts, Warnings: b.site.Warnings, AsOf: b.asOf, LookAhead: b.lookAhead}
	for _, stage := range []func() error{
		b.prepare,     // theme, markdown, keys; the last build's records, if they apply
		b.pages,       // parse or publish again every page; render those that restrict nothing
		b.checkUses,   // no file or heading that only restricted text uses goes public
		b.seal,        // check audiences and labels, seal (or preview) passages, render their pages
		b.prepareScan, // the leak scan's scanner, made while the next stages run
	} {
		if err := stage(); err != nil {
			return b.rep, err
		}
	}
	// The stages after hold the most (every page's view and search
	// entry, the files kept for the leak scan) and make the most garbage.
	defer tightenGC(liveHeap())()
	defer b.ordered() // on every path: the output is not touched after run
	for _, stage := range []func() error{
		b.lists,       // home, sections, tags
		b.extras,      // feed, sitemap, 404 page, theme and content files
		b.searchIndex, // the search page, the public index, each audience's sealed index
		b.order,       // the packets in name order, while the next stages run
		b.scan,        // no restricted text, name or key in any byte written
		b.manifest,    // SHA256SUMS, and the records for the next build
		b.save,        // the caches, saved while the build ends (see saved)
		b.ordered,     // the packets are in order
	} {
		if err := stage(); err != nil {
			return b.rep, err
		}
	}
	b.rep.Unread = int(b.unread.Load())
	return b.rep, nil
}

// prepare loads the theme, the markdown converter and keys/, and finds
// whether the last build's records still apply.
func (b *builder) prepare() error {
	s, cfg := b.site, b.site.Config
	if b.preview {
		b.cache = nil // a preview neither reads nor writes the seal cache
	}
	if err := checkReserved(s); err != nil {
		return err
	}
	if cfg.BaseURL == "" {
		b.rep.Warnings = append(b.rep.Warnings, diag.Errorf(site.ConfigFile, 1, "baseURL is not set: the feed and sitemap will carry relative links"))
	}
	var err error
	b.theme, err = render.LoadTheme(s.Root, cfg.Theme)
	if noTheme := (*render.NoThemeError)(nil); errors.As(err, &noTheme) {
		return &diag.Error{File: site.ConfigFile, Line: cfg.Line("theme"), Msg: err.Error(), Err: err}
	}
	if err != nil {
		return err
	}
	b.conv, err = markdown.New(markdown.Options{HighlightStyle: cfg.HighlightStyle, HighlightStyleDark: cfg.HighlightStyleDark, Preview: b.preview, Now: b.asOf})
	if err != nil {
		line := max(cfg.Line("highlightStyle"), 1)
		if strings.Contains(err.Error(), strconv.Quote(cfg.HighlightStyleDark)) {
			line = max(cfg.Line("highlightStyleDark"), 1)
		}
		return &diag.Error{File: site.ConfigFile, Line: line, Msg: err.Error(), Err: err}
	}
	// keys/ is read even when no page restricts anything, so that a broken
	// key file (or a passphrase missing from the environment) is found
	// before the first restricted block needs it.
	getenv := b.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if b.keys, err = audience.Load(s.Root, audience.LoadOptions{Getenv: getenv}); err != nil {
		return err
	}
	b.render = render.New(s, b.theme, b.conv)
	// Every file written is kept (up to a budget) for the leak scan, which
	// then reads back only what did not fit. A site without recipients
	// can seal nothing, and has nothing to scan for; a preview shows
	// restricted text on purpose, and is not scanned.
	b.scanning = len(b.keys.Recipients()) > 0 && !b.preview
	b.held = &heldFiles{}
	if b.scanning {
		b.held.budget = scanMemory
		b.public = publicText(s, b.theme)
	}
	b.links = newLinkUse(s, !b.once)
	b.intros = map[string]*render.Intro{}
	if b.record {
		b.records = &pagesData{Version: pagesVersion, Pages: make(map[string]*pageRecord, len(s.Pages))}
		if b.records.Site, err = siteDigest(s, b.theme, b.keys, b.preview); err != nil {
			return err
		}
		if b.last != nil && b.last.records != nil && b.last.records.Site == b.records.Site {
			b.valid = b.last.records
		}
	}
	return nil
}

// emit writes a file of the build, and keeps it for the leak scan: the
// output's own copy, if it holds one (see output.Dir.Hold).
func (b *builder) emit(p string, data []byte) error {
	if err := b.out.WriteFile(p, data); err != nil {
		return err
	}
	if d, ok := b.out.(*output.Dir); ok {
		if kept := d.Held(p); kept != nil {
			b.held.keep(p, kept)
			return nil
		}
	}
	b.held.add(p, data)
	return nil
}

// emitOwned is emit for data that no one changes once written (an
// attachment's packet): the leak scan keeps it without a copy.
func (b *builder) emitOwned(p string, data []byte) error {
	write := b.out.WriteFile
	if d, ok := b.out.(*output.Dir); ok {
		write = d.WriteOwned
	}
	if err := write(p, data); err != nil {
		return err
	}
	b.held.keep(p, data)
	return nil
}

// emitShared is emitOwned for data whose digest is sum, worked out when
// it was made: a build in memory keeps it without a copy or a digest.
func (b *builder) emitShared(p string, data []byte, sum [sha256.Size]byte) error {
	m, ok := b.out.(*output.Memory)
	if !ok {
		return b.emitOwned(p, data)
	}
	if err := m.WriteShared(p, data, sum); err != nil {
		return err
	}
	b.held.keep(p, data)
	return nil
}

// workers is the number of goroutines for a stage's pages: more than the
// cores when files are written to disk, so that some compute while others
// wait on the file system; as many as the cores when they go to memory,
// where more would only contend for its lock.
func (b *builder) workers() int {
	if _, ok := b.out.(*output.Memory); ok {
		return runtime.GOMAXPROCS(0)
	}
	return par.IO()
}

// take publishes again the file at p of the last build, which its record
// says has the digest sum, and reports whether it did: not if that output
// no longer holds it as written. A file whose stamp is the one its build
// recorded (see output.Stamp) is not read; the leak scan keeps the bytes
// of the others without a copy.
func (b *builder) take(p string, sum [sha256.Size]byte) (bool, error) {
	var data []byte
	if b.last.carry != nil {
		var err error
		if data, err = b.last.carry(p); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	} else {
		if st, ok := b.stampOf(p); ok {
			if ok, err := b.last.stamped(p, st, sum); ok || err != nil {
				if ok {
					b.unread.Add(1)
				}
				return ok, err
			}
		}
		var err error
		data, err = b.last.read(p)
		if err != nil || sha256.Sum256(data) != sum {
			return false, nil
		}
		if err := b.last.republish(p, data, sum); err != nil {
			return false, err
		}
	}
	b.held.keep(p, data)
	return true, nil
}

// stampOf returns the stamp the last build recorded for its file at p,
// if this build may publish the file again by its stamp.
func (b *builder) stampOf(p string) (output.Stamp, bool) {
	if b.valid == nil || b.last.stamped == nil {
		return output.Stamp{}, false
	}
	st, ok := b.valid.Stamps[p]
	return st, ok
}

// pageResult is what the pages stage did with one page: published it
// again (reused), parsed and rendered it (rec), or parsed it for sealing
// (doc with rec).
type pageResult struct {
	rec    *pageRecord
	doc    *markdown.Doc // a page holding restricted blocks, not yet rendered
	reused bool
	public []byte // the page's public markdown, for the leak scan
}

// pages publishes again the pages whose records still apply, parses the
// others, and renders at once those that restrict nothing. A page that
// does not parse is refused (see builder.refused); the others go on.
func (b *builder) pages() error {
	s := b.site
	results := make([]pageResult, len(s.Pages))
	order := byAddress(len(s.Pages), func(i int) *site.Page { return s.Pages[i] })
	b.refused.Add(diag.List(par.Each(len(s.Pages), b.workers(), func(k int) error {
		i := order[k]
		p := s.Pages[i]
		testOnlyStarted("pages", k, p)
		// Every page's folder first, in the order of the addresses: made
		// as the page is written, the folder (its inode, its place in a
		// copy) would tell a page this build renders, in the seal stage,
		// from one it publishes again, such as a restricted page that
		// links an attachment (rendered by every build) from another.
		if b.makeFolder != nil && p.Kind == site.KindPage {
			if err := b.makeFolder(render.OutPath(p.URL)); err != nil {
				return err
			}
		}
		var key [sha256.Size]byte
		if b.record {
			key = pageKey(p)
		}
		if rec, err := b.reuse(p, key); err != nil || rec != nil {
			if rec != nil {
				b.links.note(p, rec)
				results[i] = pageResult{rec: rec, reused: true, public: b.done(p, rec)}
			}
			return err
		}
		doc, rec, err := b.parse(p, key)
		if err != nil {
			return err
		}
		b.links.note(p, rec)
		if len(doc.Blocks) > 0 {
			results[i] = pageResult{doc: doc, rec: rec}
			return nil
		}
		if err := b.renderDoc(doc, rec); err != nil {
			return err
		}
		results[i] = pageResult{rec: rec, public: b.done(p, rec)}
		return nil
	})))
	b.views = make([]*render.PageView, 0, len(s.Pages))
	for i, res := range results {
		if res.rec != nil {
			b.noteEmbargoes(s.Pages[i].Path, res.rec)
		}
		switch {
		case res.rec == nil: // refused
		case res.reused:
			b.keep(s.Pages[i], res.rec, res.public)
			b.republished = append(b.republished, res.rec.Sealed...)
			b.rep.Reused++
		case res.doc != nil:
			b.restricted = append(b.restricted, parsed{res.doc, res.rec})
		default:
			b.keep(s.Pages[i], res.rec, res.public)
		}
	}
	slices.SortFunc(b.restricted, func(x, y parsed) int { return strings.Compare(x.doc.Page.Path, y.doc.Page.Path) })
	b.sortEmbargoes()
	return nil
}

// byAddress returns the numbers of n pages (page(i) is the ith) in the
// order of their addresses, in which the stages take them. The order
// files are made in shows in the output: in folder listings, inode
// numbers and birth times, and in a copy made from them. A page's address
// is public; its file's name need not be (a restricted page's address
// comes from a slug), and the order of the files' names would tell where
// it sorts.
func byAddress(n int, page func(i int) *site.Page) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(page(i).URL, page(j).URL) })
	return order
}

// testOnlyStarted is called with each page as the stage named starts on
// it, and its place in the order the stage hands pages out in.
var testOnlyStarted = func(string, int, *site.Page) {}

// parse parses page p, whose key is key, and checks it; it returns the
// page's document and its record as far as parsing makes it.
func (b *builder) parse(p *site.Page, key [sha256.Size]byte) (*markdown.Doc, *pageRecord, error) {
	doc := b.conv.Parse(p, b.site)
	if err := markdown.Validate(doc); err != nil {
		return nil, nil, err
	}
	rec := &pageRecord{Key: key, Links: doc.Links, Cuts: doc.Cuts(), PrivateIDs: doc.PrivateIDs, Embargoes: doc.Embargoes}
	rec.Names, rec.Mentions = pageNames(p, rec.Cuts)
	return doc, rec, nil
}

// reuse publishes page p again from the last build, and returns its
// record, if the page can be published again (see pagesData.reusable) and
// the last build's output holds its HTML as written (see take).
//
// A page whose restricted text links to a content file, or a restricted
// bundle with files, is always parsed again: the file may be an
// attachment, whose audience is worked out from every page that links it,
// and whose packet its passages name (see seal.Plan.Attach).
func (b *builder) reuse(p *site.Page, key [sha256.Size]byte) (*pageRecord, error) {
	if b.valid == nil {
		return nil, nil
	}
	rec := b.valid.reusable(p.Path, key, b.cache)
	if rec == nil || b.mayAttach(p, rec) || !embargoesAgree(rec.Embargoes, b.asOf) {
		return nil, nil
	}
	if rec.Out == "" {
		return rec, nil
	}
	if ok, err := b.take(rec.Out, rec.Sum); !ok {
		return nil, err
	}
	return rec, nil
}

// mayAttach reports whether page p, whose record is rec, may link an
// attachment or hold a restricted bundle's files.
func (b *builder) mayAttach(p *site.Page, rec *pageRecord) bool {
	if b.site.BundleHasFiles(p) {
		return true
	}
	for _, l := range rec.Links {
		if l.Restricted {
			if _, ok := b.site.FileTarget(p, l.Dest); ok {
				return true
			}
		}
	}
	return false
}

// renderDoc renders a page, or the intro of a list, once it holds no
// restricted block, and completes its record.
func (b *builder) renderDoc(doc *markdown.Doc, rec *pageRecord) error {
	// Public headings reach tables of contents and anchors as plain text
	// and as IDs: both are published on purpose, as the leak scan (of this
	// build or, through the record, of the next) must know.
	if b.scanning || b.record {
		for _, h := range doc.Headings(1, 6) {
			rec.Public = append(rec.Public, h.Text, h.ID)
		}
	}
	if doc.Page.Kind != site.KindPage {
		var err error
		rec.Intro, err = b.render.RenderIntro(doc)
		return err
	}
	view, body, err := b.render.PageBody(doc, b.emit)
	if err != nil {
		return err
	}
	rec.View, rec.Out = view, render.OutPath(doc.Page.URL)
	if b.render.Searching() {
		rec.Search = searchDoc(doc, view, rec.Sealed)
		if len(rec.Sealed) > 0 {
			if err := checkSearchDoc(doc, rec.Search, body); err != nil {
				return err
			}
		}
		if rec.Search != nil {
			// Its terms, once: the record keeps them for the next build,
			// not the text, which the public index never publishes.
			rec.Search.Prepare()
			rec.Search.Text, rec.Search.Headings = "", nil
		}
	}
	rec.Public = append(rec.Public, view.Summary)
	return nil
}

// done returns the public markdown of page p (its body without the
// restricted blocks' cuts) if the leak scan needs it, and in a build made
// [builder.once] lets the body go: the page is parsed and no later stage
// reads it. Called as soon as each page is done, it keeps a build's peak
// from holding every page's markdown and every page's result at once.
func (b *builder) done(p *site.Page, rec *pageRecord) (public []byte) {
	if b.scanning {
		public = markdown.Cut(p.Body, rec.Cuts)
	}
	if b.once {
		p.Body = nil
	}
	return public
}

// keep takes in what a page gives the rest of the build (public: its
// public markdown, for the leak scan, from [builder.done]), whether it was
// rendered now or published again from its record. The stages call it
// one page at a time.
func (b *builder) keep(p *site.Page, rec *pageRecord, public []byte) {
	if b.record {
		b.records.Pages[p.Path] = rec
	}
	if rec.View != nil {
		b.views = append(b.views, rec.View)
	} else {
		// Keyed by folder: only the home's and the top-level sections'
		// intros head a list. A deeper _index.md names its folder in
		// public, and nothing else.
		b.intros[strings.TrimPrefix(path.Dir(strings.TrimPrefix(p.Path, site.ContentDir+"/")), ".")] = rec.Intro
	}
	if b.scanning {
		b.public = append(b.public, public)
		for _, t := range rec.Public {
			b.public = append(b.public, []byte(t))
		}
	}
	for _, r := range rec.Sealed {
		b.secrets = append(b.secrets, r.Secret)
	}
	b.keepSearch(p, rec)
}

// checkUses refuses content files that only restricted text uses, and
// public links into restricted text. Every page has been noted, whether
// parsed or published again, so the rule holds before anything is
// sealed; seal reports the refusals.
func (b *builder) checkUses() error {
	b.draftOnly = draftOnlyFiles(b.site, b.conv, b.links.used())
	attached, err := b.links.check(b.draftOnly)
	b.refused.Add(err)
	b.attached = attached
	b.refused.Add(b.links.checkAnchors())
	if b.once {
		b.links = nil // at 50,000 pages, 15 MB the rest of the build would hold
	}
	return nil
}

// seal checks every audience and label, then seals the restricted
// passages (or, in a preview, shows them in clear) and renders their
// pages. Nothing is sealed while any stage before it found a mistake: it
// reports them all at once.
func (b *builder) seal() error {
	docs := make([]*markdown.Doc, len(b.restricted))
	for i, p := range b.restricted {
		docs[i] = p.doc
	}
	plan, err := seal.NewPlan(docs, b.keys, b.site.Config)
	b.refused.Add(err)
	if err := b.refused.Err(); err != nil {
		return err
	}
	if !b.preview { // a preview shows attachments as it shows passages: in clear
		var files []site.File
		for _, f := range b.site.Files {
			if b.attached[f.Path] {
				files = append(files, f)
			}
		}
		if err := plan.Attach(docs, files, b.site.Bundle, b.site.Config.PostQuantum); err != nil {
			return err
		}
		secrets, err := plan.AttachmentSecrets()
		if err != nil {
			return err
		}
		b.secrets = append(b.secrets, secrets...)
	}
	var (
		sealer *seal.Sealer
		each   func(p parsed) error
	)
	if b.preview {
		for _, p := range b.restricted {
			for _, blk := range p.doc.Blocks {
				b.rep.Previewed++
				if blk.Whole {
					b.rep.PreviewedPages++
				}
			}
		}
		each = func(p parsed) error { return plan.Preview(p.doc) }
	} else {
		for _, r := range b.republished {
			plan.Reuse(r)
		}
		if sealer, err = seal.NewSealer(plan, b.conv, b.cache); err != nil {
			return err
		}
		b.sealer = sealer
		if err := sealer.SealAttachments(b.out); err != nil {
			return err
		}
		for _, a := range plan.Attachments() {
			b.held.ciphertext(a.Packet)
		}
		if errs := par.Each(len(b.republished), par.IO(), func(i int) error {
			r := b.republished[i]
			ok, err := sealer.Reuse(r, b.emit)
			if err == nil && !ok {
				err = fmt.Errorf("%s:%d: the page cache is out of step with the seal cache (a bug in conclave): build with --no-cache", r.Secret.File, r.Secret.Line)
			}
			return err
		}); len(errs) > 0 {
			return errs[0]
		}
		each = func(p parsed) (err error) {
			p.rec.Sealed, err = sealer.Seal(p.doc, b.emit)
			return err
		}
	}
	order := byAddress(len(b.restricted), func(i int) *site.Page { return b.restricted[i].doc.Page })
	errs := diag.List(par.Each(len(b.restricted), par.IO(), func(k int) error {
		p := b.restricted[order[k]]
		testOnlyStarted("seal", k, p.doc.Page)
		if err := each(p); err != nil {
			return err
		}
		return b.renderDoc(p.doc, p.rec)
	}))
	if err := errs.Err(); err != nil {
		return err
	}
	if sealer != nil {
		if err := sealer.Keyrings(b.keys, b.emit); err != nil {
			return err
		}
		b.rep.Seal = sealer.Stats()
	}
	for _, p := range b.restricted {
		b.keep(p.doc.Page, p.rec, b.done(p.doc.Page, p.rec))
	}
	b.rep.Briefings = len(b.views)
	b.rep.DraftFiles = len(b.draftOnly)
	return nil
}

// lists renders the home page, the sections, the tag pages and the tag
// index, publishing again those whose data did not change.
func (b *builder) lists() error {
	var reuse render.Reuse
	var known render.ViewSums
	if b.record {
		reuse = b.reuseList
	}
	if b.last != nil {
		known = b.last.views
	}
	var err error
	if b.listed, err = b.render.Lists(b.views, b.intros, b.emit, reuse, known); err != nil {
		return err
	}
	b.rep.Tags, b.rep.Lists = b.listed.Tags, b.listed.Pages
	b.rep.Reused += b.listed.Reused
	return nil
}

// reuseList publishes again the list page out of the last build, if its
// data had the same digest and its HTML is as that build wrote it.
func (b *builder) reuseList(out string, digest [sha256.Size]byte) bool {
	if b.valid == nil {
		return false
	}
	rec, ok := b.valid.Lists[out]
	if !ok || rec.Digest != digest {
		return false
	}
	ok, err := b.take(out, rec.Sum)
	return ok && err == nil
}

// extras writes the files besides pages and lists, side by side, and
// reports the first failure in their order.
func (b *builder) extras() error {
	var feedWarns []*diag.Warning
	extras := []struct {
		name  string
		write func() error
	}{
		{"feed", func() (err error) {
			feedWarns, err = b.render.Feed(b.views, b.emit)
			return err
		}},
		{"sitemap", func() (err error) {
			var reuse render.Reuse
			if b.record {
				reuse = b.reuseList
			}
			b.sitemap, err = b.render.Sitemap(b.views, b.listed.TagViews, b.emit, reuse)
			return err
		}},
		{"404 page", func() error { return b.render.NotFound(b.emit) }},
		{"theme files", func() error { return b.theme.Static(b.themeFile) }},
		{"highlight styles", func() error {
			if b.theme.HasStatic("css/syntax.css") {
				return nil
			}
			return b.emit("css/syntax.css", b.conv.HighlightCSS())
		}},
		{"content files", func() error { return copyFiles(b.site, b.leftOut(), b.emit, b.out, b.preview) }},
		{"release", b.release},
	}
	errs := make([]error, len(extras))
	par.Do(len(extras), par.IO(), func(i int) { errs[i] = extras[i].write() })
	for i, err := range errs {
		if err != nil {
			if de := (*diag.Error)(nil); errors.As(err, &de) {
				return err
			}
			return fmt.Errorf("%s: %w", extras[i].name, err)
		}
	}
	b.rep.Warnings = append(b.rep.Warnings, feedWarns...)
	return nil
}

// leftOut returns the content files not published as they are: those only
// drafts link to and, but in a preview, the attachments, which are sealed.
func (b *builder) leftOut() map[string]bool {
	if b.preview || len(b.attached) == 0 {
		return b.draftOnly
	}
	out := maps.Clone(b.attached)
	maps.Copy(out, b.draftOnly)
	return out
}

// scanner is the leak scan's scanner and, for a build that makes
// records, its fingerprint (see scanFingerprint); sc is nil when there is
// nothing to look for.
type scanner struct {
	sc  *leakcheck.Scanner
	fp  [sha256.Size]byte
	err error
}

// prepareScan starts making the leak scan's scanner, from every passage
// and the public text, which seal leaves complete, while the stages
// after it run. A preview is not scanned.
func (b *builder) prepareScan() error {
	if b.preview || testOnlySkipLeakScan {
		return nil
	}
	ch := make(chan scanner, 1)
	b.scanner = ch
	secrets := append(b.secrets[:len(b.secrets):len(b.secrets)], recipientSecrets(b.keys)...)
	public := b.public[:len(b.public):len(b.public)]
	searching := b.render.Searching() && len(b.secrets) > 0
	record := b.record
	var was *leakcheck.Memo
	if record && b.last != nil && b.last.records != nil {
		was = b.last.records.Scan.memo()
	}
	go func() {
		if len(secrets) == 0 {
			ch <- scanner{}
			return
		}
		if searching {
			public = append(public, publicTerms(public))
		}
		if !record {
			ch <- scanner{sc: leakcheck.New(secrets, public)}
			return
		}
		// Only records need the fingerprint, and only records are
		// compared with it.
		s := scanner{sc: leakcheck.NewFrom(secrets, public, was)}
		s.fp, s.err = scanFingerprint(s.sc)
		ch <- s
	}()
	return nil
}

// order starts writing the packets in name order (see output.Dir.Order),
// which the stages after it do not wait for: no stage after searchIndex
// writes a packet, and the leak scan reads a packet from memory, or from
// disk once it is in order.
func (b *builder) order() error {
	b.ordering = start(b.orderPackets)
	return nil
}

// ordered waits for the packets that order started to put in order.
func (b *builder) ordered() error { return b.ordering.wait() }

// save starts saving the caches, which saved waits for.
func (b *builder) save() error {
	b.saving = start(b.saveCaches)
	return nil
}

// saved waits for the caches that save started to save, and returns the
// warnings of what it could not save.
func (b *builder) saved() []*diag.Warning { return b.saving.wait() }

// later is what a function running beside the build returns (see start).
type later[T any] chan T

// start calls f on a goroutine of its own, if f is not nil.
func start[T any](f func() T) later[T] {
	if f == nil {
		return nil
	}
	l := make(later[T], 1)
	go func() { l <- f() }()
	return l
}

// wait returns what the function started returned, once, or the zero T
// if none was started or it was already waited for.
func (l *later[T]) wait() T {
	var v T
	if *l != nil {
		v, *l = <-*l, nil
	}
	return v
}

// scan is the safety net: no restricted text, recipient name, public key
// or guest's passphrase in any byte written. A preview holds restricted
// text and names on purpose, and is never published.
func (b *builder) scan() error {
	if b.scanner == nil {
		return nil
	}
	s := <-b.scanner
	if s.err != nil || s.sc == nil {
		return s.err
	}
	sc, fp := s.sc, s.fp
	copies := make(map[string]bool, len(b.site.Files))
	for _, f := range b.site.Files {
		if !b.attached[f.Path] {
			copies[f.OutPath] = true
		}
	}
	// Any last build's records serve, whatever else changed since: what
	// the scan finds in a file depends on what it looks for, the file's
	// path and bytes, and this program alone.
	var clean map[string][sha256.Size]byte
	if b.record && b.last != nil && b.last.records != nil && b.last.records.Scan.Fingerprint == fp {
		clean = b.last.records.Scan.Clean
	}
	var err error
	if b.rep.Scan, err = scanOutput(b.out, sc, b.held, copies, clean); err != nil {
		return err
	}
	if b.record {
		entries := b.out.Entries()
		b.records.Scan = scanRecord{Fingerprint: fp, Clean: make(map[string][sha256.Size]byte, len(entries)), Public: sc.Memo()}
		b.records.Scan.PublicBy, _ = programDigest() // scanFingerprint read it
		for _, e := range entries {
			b.records.Scan.Clean[e.Path] = e.Sum
		}
	}
	return nil
}

// manifest writes SHA256SUMS, covering every file written before it, and
// completes the records for the next build with the digests it lists. The
// author's preview is not a release, and has no manifest.
func (b *builder) manifest() error {
	if b.preview {
		b.rep.Files, b.rep.Bytes = b.out.Totals()
		return b.recordLists(nil)
	}
	entries := b.out.Entries()
	list := make([]manifest.Entry, len(entries))
	for i, e := range entries {
		// Nothing readers would refuse is published: a passage's packet
		// is read whole, within PacketLimit; only an attachment's is
		// streamed.
		limit := manifest.SizeLimit(e.Path)
		if limit == manifest.AttachmentPacketLimit && !b.held.sealed[e.Path] {
			limit = manifest.PacketLimit
		}
		if e.Size > limit.Bytes {
			return fmt.Errorf("%s: %d bytes, more than %s may hold (%d MiB at most): readers would refuse it", e.Path, e.Size, limit.What, limit.Bytes>>20)
		}
		list[i] = manifest.Entry{Path: e.Path, Sum: e.Sum}
	}
	sums, err := manifest.Build(list)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := b.out.WriteFile(manifest.Name, sums); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	b.rep.Files, b.rep.Bytes = len(entries)+1, int64(len(sums))
	for _, e := range entries {
		b.rep.Bytes += e.Size
	}
	written := make(map[string][sha256.Size]byte, len(entries))
	for _, e := range entries {
		written[e.Path] = e.Sum
	}
	return b.recordLists(written)
}

// recordLists completes the records for the next build, if any, with the
// digests of the pages and lists as written. A preview's records (written
// nil) need none: they are only ever used in memory, where the output is
// carried without a digest (see lastBuild.carry).
func (b *builder) recordLists(written map[string][sha256.Size]byte) error {
	if !b.record {
		return nil
	}
	if written != nil {
		for _, rec := range b.records.Pages {
			if rec.Out != "" {
				rec.Sum = written[rec.Out]
			}
		}
	}
	b.records.Lists = make(map[string]listRecord, len(b.listed.Digests)+1)
	for out, d := range b.listed.Digests {
		b.records.Lists[out] = listRecord{Digest: d, Sum: written[out]}
	}
	// Published again as a list page is, when what it lists is the same.
	b.records.Lists[render.SitemapFile] = listRecord{Digest: b.sitemap, Sum: written[render.SitemapFile]}
	return nil
}
