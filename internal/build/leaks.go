package build

import (
	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// scanBatch is how many output files the leak scan holds in memory at once.
const scanBatch = 512

// scanOutput reads back every file written to w and fails if any holds a
// fragment of secrets. sealed are the packets and keyrings, already in
// memory.
//
// Text that a public page also carries is not a leak. Telling it apart
// needs the public text of every page, which is costly to gather, so it
// is gathered only when the scan finds something.
func scanOutput(s *site.Site, conv *markdown.Converter, w output.Writer, secrets []leakcheck.Secret, sealed []leakcheck.File) error {
	if len(secrets) == 0 {
		return nil
	}
	sc := leakcheck.New(secrets, nil)
	leaks := sc.Scan(sealed)
	held := map[string]bool{}
	for _, f := range sealed {
		held[f.Path] = true
	}
	entries := w.Entries()
	batch := make([]leakcheck.File, 0, scanBatch)
	flush := func() {
		leaks = append(leaks, sc.Scan(batch)...)
		batch = batch[:0]
	}
	for _, e := range entries {
		if held[e.Path] {
			continue
		}
		data, err := w.ReadFile(e.Path)
		if err != nil {
			return err
		}
		batch = append(batch, leakcheck.File{Path: e.Path, Data: data})
		if len(batch) == scanBatch {
			flush()
		}
	}
	flush()
	if len(leaks) == 0 {
		return nil
	}

	// Look again for the fragments found, leaving out those that public
	// text holds too.
	var found []leakcheck.Secret
	paths := map[string]bool{}
	for _, l := range leaks {
		found = append(found, leakcheck.Secret{File: l.Secret.File, Line: l.Secret.Line, Texts: []string{l.Text}})
		paths[l.Path] = true
		paths[l.Name] = true
	}
	var files []leakcheck.File
	for p := range paths {
		if p == "" {
			continue
		}
		data, err := w.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, leakcheck.File{Path: p, Data: data})
	}
	return leakcheck.Errors(leakcheck.New(found, publicText(s, conv)).Scan(files))
}

// publicText is what the site publishes on purpose: the text of every
// page outside its restricted blocks, the front matter of pages that are
// not restricted as a whole, the configuration and the words the build
// itself writes.
func publicText(s *site.Site, conv *markdown.Converter) [][]byte {
	var out [][]byte
	add := func(texts ...string) {
		for _, t := range texts {
			if t != "" {
				out = append(out, []byte(t))
			}
		}
	}
	cfg := s.Config
	add(cfg.Title, cfg.Description, cfg.Copyright, cfg.BaseURL)
	for _, l := range []tlp.Label{tlp.Clear, tlp.Green, tlp.Amber, tlp.AmberStrict, tlp.Red} {
		add(l.Display(), l.Meaning())
	}
	for _, p := range s.Pages {
		doc := conv.Parse(p, nil)
		if p.Front.Audience == nil {
			add(p.Front.Title, p.Front.Summary)
			add(p.Front.Tags...)
		}
		for _, b := range doc.Blocks {
			if b.Parent() != nil {
				b.Parent().RemoveChild(b.Parent(), b)
			}
		}
		add(doc.Texts(doc.Root)...)
	}
	return out
}

// recipientSecrets are the names and public keys of the recipients: none
// may appear in the output.
func recipientSecrets(reg *audience.Registry) []leakcheck.Secret {
	var out []leakcheck.Secret
	for _, r := range reg.Recipients() {
		sec := leakcheck.Secret{File: r.File, Line: 1, Texts: []string{r.Name}}
		for _, k := range r.Keys {
			sec.Texts = append(sec.Texts, k.Text)
		}
		out = append(out, sec)
	}
	return out
}
