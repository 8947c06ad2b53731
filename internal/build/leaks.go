package build

import (
	"bytes"
	"crypto/sha256"
	"io"
	"sync"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// scanMemory is how many bytes of output a build keeps in memory for the
// leak scan; it reads back the rest.
const scanMemory = 512 << 20

// packetMemory is how many bytes of packets a build keeps in memory, to
// write each once, in name order, at its end (see output.Dir.Hold); the
// others are written at once and copied then.
const packetMemory = 512 << 20

// scanBatch is how many read-back files the leak scan holds at once.
const scanBatch = 512

// heldFiles keeps the files a build wrote, up to a budget, for the leak
// scan. It is safe for concurrent use.
type heldFiles struct {
	mu     sync.Mutex
	files  []leakcheck.File
	paths  map[string]bool
	size   int64
	budget int64
	// sealed are the attachments' packets: age ciphertext of up to 5
	// GiB, written as streams, of which the scan reads the start only.
	sealed map[string]bool
}

// ciphertext marks the file at p as an attachment's packet.
func (h *heldFiles) ciphertext(p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sealed == nil {
		h.sealed = map[string]bool{}
	}
	h.sealed[p] = true
}

// sealedHead is how much of an attachment's packet the leak scan reads:
// its age header and first chunk, which would show a file written in
// clear where its packet belongs. The rest is age's STREAM ciphertext,
// written by the encryptor and nothing else; reading it would find
// nothing, at the scan's speed on random bytes (about 130 MB/s here): 16
// s for a 2 GiB file.
const sealedHead = 128 << 10

// add keeps a copy of data: writers reuse their buffers once a file is
// written.
func (h *heldFiles) add(p string, data []byte) {
	if h.fits(data) {
		h.keep(p, bytes.Clone(data))
	}
}

// keep keeps data itself, which nothing else changes.
func (h *heldFiles) keep(p string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.size+int64(len(data)) > h.budget {
		return
	}
	if h.paths == nil {
		h.paths = map[string]bool{}
	}
	h.files = append(h.files, leakcheck.File{Path: p, Data: data})
	h.paths[p] = true
	h.size += int64(len(data))
}

func (h *heldFiles) fits(data []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.size+int64(len(data)) <= h.budget
}

// scanOutput fails if any file written to w, or its name, holds a
// fragment that sc looks for. It scans the files held in memory and reads
// back the others, except those that clean lists under their digest:
// found clean by a scanner of sc's fingerprint (see
// leakcheck.Scanner.Fingerprint), they are clean for sc too.
// copies are the output paths of the content files, published as they
// are.
func scanOutput(w output.Writer, sc *leakcheck.Scanner, held *heldFiles, copies map[string]bool, clean map[string][sha256.Size]byte) (ScanReport, error) {
	var rep ScanReport
	entries := w.Entries()
	skip := make(map[string]bool, len(clean))
	for _, e := range entries {
		if sum, ok := clean[e.Path]; ok && sum == e.Sum {
			skip[e.Path] = true
		}
	}
	rep.Clean = len(skip)
	files := make([]leakcheck.File, 0, len(held.files))
	for _, f := range held.files {
		if !skip[f.Path] {
			files = append(files, f)
		}
	}
	rep.Files = len(files)
	leaks := sc.Scan(files)
	batch := make([]leakcheck.File, 0, scanBatch)
	flush := func() {
		leaks = append(leaks, sc.Scan(batch)...)
		batch = batch[:0]
	}
	for _, e := range entries {
		if held.paths[e.Path] || skip[e.Path] {
			continue
		}
		var data []byte
		var err error
		if held.sealed[e.Path] {
			data, err = readHead(w, e.Path, sealedHead)
		} else {
			data, err = w.ReadFile(e.Path)
		}
		if err != nil {
			return rep, err
		}
		rep.Files++
		batch = append(batch, leakcheck.File{Path: e.Path, Data: data})
		if len(batch) == scanBatch {
			flush()
		}
	}
	flush()
	return rep, leakcheck.Errors(leaks, copies)
}

// ScanReport says how many files the leak scan read, and how many it
// did not because the last build had found them clean, as they are.
type ScanReport struct {
	Files, Clean int
}

// scanRecord is what a build keeps of its leak scan: the fingerprint of
// what it looked for (scanFingerprint), and the files it found clean, by
// output path, under their digest; and what making its scanner learned of
// the public text (see leakcheck.NewFrom), by the program that learned it.
type scanRecord struct {
	Fingerprint [sha256.Size]byte
	Clean       map[string][sha256.Size]byte
	Public      *leakcheck.Memo
	PublicBy    [sha256.Size]byte
}

// memo returns what the scanner of the build that made r learned of the
// public text, if this program made it (another may match otherwise).
func (r *scanRecord) memo() *leakcheck.Memo {
	if prog, err := programDigest(); err != nil || r.Public == nil || r.PublicBy != prog {
		return nil
	}
	return r.Public
}

// scanFingerprint is sc's fingerprint (see leakcheck.Scanner.Fingerprint)
// for this program: another build of conclave may match otherwise, even
// with the same rules' name.
func scanFingerprint(sc *leakcheck.Scanner) ([sha256.Size]byte, error) {
	prog, err := programDigest()
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	fp := sc.Fingerprint()
	return sha256.Sum256(append(prog[:], fp[:]...)), nil
}

// publicText is what the site publishes on purpose besides its pages'
// text: the front matter of pages not restricted as a whole, the
// configuration, and the words the build itself writes (the theme's
// layouts, the placeholders' text, the TLP labels). The build adds
// each page's markdown outside its restricted blocks, and the plain text
// of its public headings and summary.
func publicText(s *site.Site, theme *render.Theme) [][]byte {
	var out [][]byte
	add := func(texts ...string) {
		for _, t := range texts {
			if t != "" {
				out = append(out, []byte(t))
			}
		}
	}
	cfg := s.Config
	add(cfg.Title, cfg.Description, cfg.Copyright, cfg.BaseURL, seal.RestrictedTitle)
	add(restricted.Boilerplate()...)
	out = append(out, theme.Layouts()...)
	// The theme's own files are published as they are: words they share
	// with a passage ("baseline" in a style sheet) are not a leak of it.
	// Content files are not public text: a passage copied into one is a
	// leak.
	_ = theme.Static(func(_ string, data []byte) error {
		out = append(out, data)
		return nil
	})
	for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red} {
		add(l.Display(), l.Meaning())
	}
	for _, p := range s.Pages {
		add(site.TitleFromName(p.Section))
		if p.Front.Audience == nil {
			add(p.Front.Title, p.Front.Summary)
			add(p.Front.Tags...)
		}
	}
	return out
}

// recipientSecrets are the names and public keys of the recipients, and
// the passphrases of passphrase keys: none may appear in the output. A
// passphrase is a secret of its own, located at its key's line: it is
// looked for even where the site's public text holds it (pasted into a
// page, it is still a leak), and an error never quotes it.
func recipientSecrets(reg *audience.Registry) []leakcheck.Secret {
	var out []leakcheck.Secret
	for _, r := range reg.Recipients() {
		sec := leakcheck.Secret{File: r.File, Line: 1, Texts: []string{r.Name}}
		for _, k := range r.Keys {
			sec.Texts = append(sec.Texts, k.Text)
			if pass := k.Passphrase(); pass != "" {
				out = append(out, leakcheck.Secret{File: r.File, Line: k.Line, Texts: []string{pass},
					Conceal: "the passphrase of " + k.Text})
			}
		}
		out = append(out, sec)
	}
	return out
}

// readHead reads at most n bytes from the start of the file at p of w.
func readHead(w output.Writer, p string, n int) ([]byte, error) {
	r, err := w.Open(p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(r, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return b[:m], err
}
