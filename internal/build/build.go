// Package build runs the stages of a site build in order (load, parse and
// validate, render, write, manifest) and reports what it did.
//
// A build to a directory writes into a temporary folder and swaps it into
// place only if every stage succeeded: a failed build leaves the previous
// output exactly as it was.
package build

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	// fails. Nothing is encrypted, no packets/ are written, the seal cache
	// is neither read nor written and the leak scan is skipped. Only
	// [Memory] builds a preview: [Run] refuses it.
	Preview bool
}

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
	Out        string // output folder, or "" for memory
	Briefings  int    // briefing pages
	Lists      int    // home, section, tag and tag index pages
	Tags       int
	Files      int   // every file written, SHA256SUMS included
	Bytes      int64 // their total size
	Drafts     int   // drafts left out
	DraftFiles int   // content files left out because only drafts link to them
	Reused     int   // pages, intros and lists published again from the last build's records
	Duration   time.Duration
	Warnings   []*diag.Warning
	Seal       seal.Stats
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
	// Load first, so that a site with errors never creates a temporary folder.
	s, err := site.Load(src, site.Options{Drafts: opt.Drafts, Out: out})
	if err != nil {
		return nil, err
	}
	cache, warn, err := openCache(src, opt.CacheKey)
	if err != nil {
		return nil, err
	}
	dir, err := output.NewDir(out)
	if err != nil {
		return nil, err
	}
	var inc *incremental
	if opt.CacheKey != nil {
		prev, warning, err := loadPages(src, opt.CacheKey)
		if err != nil {
			return nil, err
		}
		if warning != "" {
			s.Warnings = append(s.Warnings, diag.Errorf(CacheDir, 0, "%s", warning))
		}
		inc = &incremental{prev: prev, previous: dir.ReadPrevious, reuse: dir.Reuse}
	}
	rep, err := run(s, dir, cache, inc, opt.Getenv, false)
	if rep != nil && warn != nil {
		rep.Warnings = append(rep.Warnings, warn)
	}
	if err != nil {
		dir.Abort()
		return rep, err
	}
	if err := dir.Commit(); err != nil {
		dir.Abort()
		return rep, fmt.Errorf("replacing %s: %w", out, err)
	}
	// Only a published build is worth remembering.
	if err := cache.Save(); err != nil {
		rep.Warnings = append(rep.Warnings, diag.Errorf(CacheDir, 0, "could not save the seal cache: %v (the next build encrypts every block anew)", err))
	}
	if inc != nil {
		if err := savePages(src, opt.CacheKey, inc.next); err != nil {
			rep.Warnings = append(rep.Warnings, diag.Errorf(CacheDir, 0, "could not save the page cache: %v (the next build renders every page anew)", err))
		}
	}
	rep.Out = out
	rep.Duration = time.Since(start)
	return rep, nil
}

// Memory builds the site into memory, for the preview server. With
// [Options.Preview], it builds the author's preview, and does not open the
// seal cache. It is the first build of a new [Session].
func Memory(opt Options) (*Report, *output.Memory, error) {
	return NewSession(opt).Build(nil)
}

// incremental is what a build to a directory reuses from the last one.
type incremental struct {
	prev     *pagesData                     // the last build's records; nil if none
	previous func(p string) ([]byte, error) // reads a file of the last build's output
	// reuse publishes such a file again, whose digest is sum, as
	// output.Dir.Reuse does.
	reuse func(p string, data []byte, sum [sha256.Size]byte) error
	// trusted says the previous output cannot have changed since its
	// records were made (a build held in memory): its files are not hashed
	// again before they are reused.
	trusted bool
	// views are the digests of the previous build's views, when its
	// records are this build's prev in memory (the same *PageView values):
	// see render.ViewSums.
	views     render.ViewSums
	next      *pagesData      // this build's records, set by run
	nextViews render.ViewSums // this build's view digests, set by run
}

// run renders the loaded site s into w and writes its manifest. With inc,
// it publishes again the pages whose records still apply, and records
// every page for the next build. getenv resolves passphrase keys (nil: no
// variable is set). With preview it builds the author's preview
// ([Options.Preview]), which never uses the seal cache; records of a
// preview hold no sealed block, and match only a preview's (see
// siteDigest).
func run(s *site.Site, w output.Writer, cache *seal.Cache, inc *incremental, getenv func(string) string, preview bool) (*Report, error) {
	rep := &Report{Drafts: s.Drafts, Warnings: s.Warnings}
	if preview {
		cache = nil
	}
	if s.Config.BaseURL == "" {
		rep.Warnings = append(rep.Warnings, diag.Errorf(site.ConfigFile, 1, "baseURL is not set: the feed and sitemap will carry relative links"))
	}
	cfg := s.Config
	theme, err := render.LoadTheme(s.Root, cfg.Theme)
	var noTheme *render.NoThemeError
	if errors.As(err, &noTheme) {
		return rep, &diag.Error{File: site.ConfigFile, Line: cfg.Line("theme"), Msg: err.Error(), Err: err}
	}
	if err != nil {
		return rep, err
	}
	conv, err := markdown.New(markdown.Options{HighlightStyle: cfg.HighlightStyle, HighlightStyleDark: cfg.HighlightStyleDark, Preview: preview})
	if err != nil {
		line := max(cfg.Line("highlightStyle"), 1)
		if strings.Contains(err.Error(), strconv.Quote(cfg.HighlightStyleDark)) {
			line = max(cfg.Line("highlightStyleDark"), 1)
		}
		return rep, &diag.Error{File: site.ConfigFile, Line: line, Msg: err.Error(), Err: err}
	}
	// keys/ is read even when no page restricts anything, so that a broken
	// key file (or a passphrase missing from the environment) is found
	// before the first restricted block needs it.
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	reg, err := audience.Load(s.Root, audience.LoadOptions{Getenv: getenv})
	if err != nil {
		return rep, err
	}
	r := render.New(s, theme, conv)
	// Every file written is kept (up to a budget) for the leak scan, which
	// then reads back only what did not fit. A site without recipients
	// can seal nothing, and has nothing to scan for; a preview shows
	// restricted text on purpose, and is not scanned.
	scanning := len(reg.Recipients()) > 0 && !preview
	held := &heldFiles{}
	if scanning {
		held.budget = scanMemory
	}
	emit := func(p string, data []byte) error {
		if err := w.WriteFile(p, data); err != nil {
			return err
		}
		held.add(p, data)
		return nil
	}

	// reuseFile publishes again a file of the last build, read into a
	// buffer of its own (so the leak scan can keep it without a copy).
	reuseFile := func(p string, data []byte, sum [sha256.Size]byte) error {
		if err := inc.reuse(p, data, sum); err != nil {
			return err
		}
		held.keep(p, data)
		return nil
	}

	// The records of the last build, if they still apply.
	var prev *pagesData
	next := &pagesData{Version: pagesVersion, Pages: map[string]*pageRecord{}}
	if inc != nil {
		if next.Site, err = siteDigest(s, theme, reg, preview); err != nil {
			return rep, err
		}
		if inc.prev != nil && inc.prev.Site == next.Site {
			prev = inc.prev
		}
	}

	var (
		mu      sync.Mutex
		errs    diag.List
		views   = make([]*render.PageView, 0, len(s.Pages))
		intros  = map[string]*render.Intro{}
		files   = newLinkUse(s) // how published pages link to files and pages
		sealed  []*markdown.Doc // pages with restricted blocks, rendered once sealed
		reused  []seal.Record   // blocks of pages published again from their records
		secrets []leakcheck.Secret
		public  [][]byte // what the site publishes on purpose, for the scan
	)
	if scanning {
		public = publicText(s, theme)
	}
	// keep takes in what a page gives the rest of the build, whether it
	// was rendered now or published again from its record.
	keep := func(p *site.Page, rec *pageRecord) {
		mu.Lock()
		defer mu.Unlock()
		next.Pages[p.Path] = rec
		if rec.View != nil {
			views = append(views, rec.View)
		} else {
			// Keyed by folder: only the home's and the top-level
			// sections' intros head a list. A deeper _index.md names its
			// folder in public, and nothing else.
			intros[strings.TrimPrefix(path.Dir(strings.TrimPrefix(p.Path, site.ContentDir+"/")), ".")] = rec.Intro
		}
		if scanning {
			public = append(public, markdown.Cut(p.Body, rec.Cuts))
			for _, t := range rec.Public {
				public = append(public, []byte(t))
			}
		}
		for _, r := range rec.Sealed {
			secrets = append(secrets, r.Secret)
		}
	}
	// renderDoc renders a page, or the intro of a list, once it holds no
	// restricted block, and keeps its record.
	renderDoc := func(doc *markdown.Doc, rec *pageRecord) {
		// Public headings reach tables of contents and anchors as plain
		// text and as IDs: both are published on purpose, as the leak scan
		// (of this build or, through the record, of the next) must know.
		if scanning || inc != nil {
			for _, h := range doc.Headings(1, 6) {
				rec.Public = append(rec.Public, h.Text, h.ID)
			}
		}
		var err error
		if doc.Page.Kind == site.KindPage {
			rec.View, err = r.Page(doc, emit)
			rec.Out = render.OutPath(doc.Page.URL)
			if err == nil {
				rec.Public = append(rec.Public, rec.View.Summary)
			}
		} else {
			rec.Intro, err = r.RenderIntro(doc)
		}
		if err != nil {
			mu.Lock()
			errs.Add(err)
			mu.Unlock()
			return
		}
		keep(doc.Page, rec)
	}

	// Publish again the pages whose records still apply; parse the others,
	// and render at once those that restrict nothing.
	fresh := map[*markdown.Doc]*pageRecord{}
	par.Do(len(s.Pages), par.IO(), func(i int) {
		p := s.Pages[i]
		var key [sha256.Size]byte
		if inc != nil {
			key = pageKey(p)
		}
		if rec, html := prev.reusable(p.Path, key, inc, cache); rec != nil {
			if rec.Out != "" {
				if err := reuseFile(rec.Out, html, rec.Sum); err != nil {
					mu.Lock()
					errs.Add(err)
					mu.Unlock()
					return
				}
			}
			files.note(p, rec)
			keep(p, rec)
			mu.Lock()
			reused = append(reused, rec.Sealed...)
			rep.Reused++
			mu.Unlock()
			return
		}
		doc := conv.Parse(p, s)
		if err := markdown.Validate(doc); err != nil {
			mu.Lock()
			errs.Add(err)
			mu.Unlock()
			return
		}
		rec := &pageRecord{Key: key, Links: doc.Links, Cuts: doc.Cuts(), PrivateIDs: doc.PrivateIDs}
		files.note(p, rec)
		if len(doc.Blocks) > 0 {
			mu.Lock()
			sealed = append(sealed, doc)
			fresh[doc] = rec
			mu.Unlock()
			return
		}
		renderDoc(doc, rec)
	})
	// Every page has been noted, reused or parsed: the files only
	// restricted text uses are known before anything is sealed.
	draftOnly := draftOnlyFiles(s, conv, files.linked)
	errs.Add(files.check(draftOnly))
	errs.Add(files.checkAnchors())

	// Seal: check every audience and label, then encrypt, then render.
	sort.Slice(sealed, func(i, j int) bool { return sealed[i].Page.Path < sealed[j].Page.Path })
	plan, err := seal.NewPlan(sealed, reg, cfg)
	errs.Add(err)
	if err := errs.Err(); err != nil {
		return rep, err
	}
	if preview {
		// The author's preview: the same checks, then every passage in
		// clear, and nothing encrypted.
		for _, doc := range sealed {
			for _, b := range doc.Blocks {
				rep.Previewed++
				if b.Whole {
					rep.PreviewedPages++
				}
			}
		}
		par.Do(len(sealed), par.IO(), func(i int) {
			doc := sealed[i]
			if err := plan.Preview(doc); err != nil {
				mu.Lock()
				errs.Add(err)
				mu.Unlock()
				return
			}
			renderDoc(doc, fresh[doc])
		})
		if err := errs.Err(); err != nil {
			return rep, err
		}
	} else {
		for _, r := range reused {
			plan.Reuse(r)
		}
		sealer, err := seal.NewSealer(plan, conv, cache)
		if err != nil {
			return rep, err
		}
		emitSealed := emit
		for _, r := range reused {
			ok, err := sealer.Reuse(r, emitSealed)
			if err != nil {
				return rep, err
			}
			if !ok {
				return rep, fmt.Errorf("%s:%d: the page cache is out of step with the seal cache (a bug in conclave): build with --no-cache", r.Secret.File, r.Secret.Line)
			}
		}
		par.Do(len(sealed), par.IO(), func(i int) {
			doc := sealed[i]
			rec := fresh[doc]
			recs, err := sealer.Seal(doc, emitSealed)
			if err != nil {
				mu.Lock()
				errs.Add(err)
				mu.Unlock()
				return
			}
			rec.Sealed = recs
			renderDoc(doc, rec)
		})
		if err := errs.Err(); err != nil {
			return rep, err
		}
		if err := sealer.Keyrings(reg, emitSealed); err != nil {
			return rep, err
		}
		rep.Seal = sealer.Stats()
	}
	rep.Briefings = len(views)
	rep.DraftFiles = len(draftOnly)

	var reuseList render.Reuse
	if inc != nil {
		reuseList = func(out string, digest [sha256.Size]byte) bool {
			if prev == nil {
				return false
			}
			rec, ok := prev.Lists[out]
			if !ok || rec.Digest != digest {
				return false
			}
			html, err := inc.previous(out)
			if err != nil || !inc.trusted && sha256.Sum256(html) != rec.Sum {
				return false
			}
			return reuseFile(out, html, rec.Sum) == nil
		}
	}
	var knownViews render.ViewSums
	if inc != nil {
		knownViews = inc.views
	}
	lists, err := r.Lists(views, intros, emit, reuseList, knownViews)
	if err != nil {
		return rep, err
	}
	if inc != nil {
		inc.nextViews = lists.Views
	}
	rep.Tags, rep.Lists, rep.Reused = lists.Tags, lists.Pages, rep.Reused+lists.Reused
	var feedWarns []*diag.Warning
	stages := []struct {
		name string
		run  func() error
	}{
		{"feed", func() error {
			var err error
			feedWarns, err = r.Feed(views, emit)
			return err
		}},
		{"sitemap", func() error { return r.Sitemap(views, emit) }},
		{"404 page", func() error { return r.NotFound(emit) }},
		{"theme files", func() error { return theme.Static(emit) }},
		{"highlight styles", func() error {
			if theme.HasStatic("css/syntax.css") {
				return nil
			}
			return emit("css/syntax.css", conv.HighlightCSS())
		}},
		{"content files", func() error { return copyFiles(s, draftOnly, emit) }},
	}
	// The stages write files of their own: run them side by side, and
	// report the first failure in their order.
	stageErrs := make([]error, len(stages))
	par.Do(len(stages), par.IO(), func(i int) { stageErrs[i] = stages[i].run() })
	for i, err := range stageErrs {
		if err != nil {
			var de *diag.Error
			if errors.As(err, &de) {
				return rep, err
			}
			return rep, fmt.Errorf("%s: %w", stages[i].name, err)
		}
	}
	rep.Warnings = append(rep.Warnings, feedWarns...)

	// The safety net: no restricted text, recipient name, public key or
	// guest's passphrase in any byte written. A preview holds restricted
	// text and names on purpose, and is never published.
	if !preview && !testOnlySkipLeakScan {
		secrets = append(secrets, recipientSecrets(reg)...)
		copies := make(map[string]bool, len(s.Files))
		for _, f := range s.Files {
			copies[f.OutPath] = true
		}
		if err := scanOutput(w, secrets, public, held, copies); err != nil {
			return rep, err
		}
	}

	// The manifest covers every file written above.
	entries := w.Entries()
	list := make([]manifest.Entry, len(entries))
	for i, e := range entries {
		list[i] = manifest.Entry{Path: e.Path, Sum: e.Sum}
	}
	sums, err := manifest.Build(list)
	if err != nil {
		return rep, fmt.Errorf("manifest: %w", err)
	}
	if err := w.WriteFile(manifest.Name, sums); err != nil {
		return rep, fmt.Errorf("manifest: %w", err)
	}
	rep.Files, rep.Bytes = len(entries)+1, int64(len(sums))
	for _, e := range entries {
		rep.Bytes += e.Size
	}
	if inc != nil {
		sums := make(map[string][sha256.Size]byte, len(entries))
		for _, e := range entries {
			sums[e.Path] = e.Sum
		}
		for _, rec := range next.Pages {
			if rec.Out != "" {
				rec.Sum = sums[rec.Out]
			}
		}
		next.Lists = make(map[string]listRecord, len(lists.Digests))
		for out, d := range lists.Digests {
			next.Lists[out] = listRecord{Digest: d, Sum: sums[out]}
		}
		inc.next = next
	}
	return rep, nil
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

// copyFiles publishes the content files, except those in leaveOut.
func copyFiles(s *site.Site, leaveOut map[string]bool, emit render.Emit) error {
	for _, f := range s.Files {
		if leaveOut[f.Path] {
			continue
		}
		if err := emit(f.OutPath, f.Data); err != nil {
			return &diag.Error{File: f.Path, Msg: err.Error(), Err: err}
		}
	}
	return nil
}

// checkOut refuses an output folder that would overwrite the site itself,
// comparing the paths with symbolic links resolved.
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
