package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"filippo.io/age"
	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/site"
)

// Attachment is a content file the plan seals instead of publishing it
// (DESIGN §2, §4a): one that only restricted text links to, or a file of
// a page bundle restricted as a whole.
type Attachment struct {
	File site.File
	// Audience is the union of the audiences of the blocks that link the
	// file, and of its bundle's page.
	Audience *Audience
	// Type is the media type readers are told, from the file's extension
	// or, failing that, its first bytes.
	Type string
	// Packet is the path of its packet, once [Sealer.SealAttachments] ran.
	Packet string
}

// Attach plans the attachments of a build: every file of files is sealed
// for the union of the audiences of the blocks of docs that link it
// ([markdown.Doc.FileLinks]) and, if it lies in the folder of a page
// bundle restricted as a whole (bundle), of that page's. Every page that
// links an attachment, and every restricted bundle with files, must be
// among docs: an attachment whose audience cannot be told is an error,
// never published.
func (p *Plan) Attach(docs []*markdown.Doc, files []site.File, bundle func(string) *site.Page, postQuantum bool) error {
	if len(files) == 0 {
		return nil
	}
	members := make(map[string][]string, len(files)) // file → the union so far
	for _, d := range docs {
		for _, l := range d.FileLinks {
			if aud := p.Of(l.Block); aud != nil {
				members[l.File] = union(members[l.File], aud.Members)
			}
		}
	}
	byPath := make(map[string]*markdown.Doc, len(docs))
	for _, d := range docs {
		byPath[d.Page.Path] = d
	}
	var errs diag.List
	p.attached, p.bundled = map[string]*Attachment{}, map[string][]string{}
	for _, f := range files {
		if b := bundle(f.Path); b != nil {
			d := byPath[b.Path]
			if d == nil || len(d.Blocks) == 0 || !d.Blocks[0].Whole || p.Of(d.Blocks[0]) == nil {
				errs.Add(diag.Errorf(f.Path, 0, "attachment of %s, whose audience is not planned (a bug in conclave; refused)", b.Path))
				continue
			}
			members[f.Path] = union(members[f.Path], p.Of(d.Blocks[0]).Members)
			p.bundled[b.Path] = append(p.bundled[b.Path], f.Path)
		}
		if f.Len() > format.MaxAttachmentSize {
			errs.Add(diag.Errorf(f.Path, 0, "sealed as an attachment, but %d bytes: an attachment may be at most %d GiB; publish it elsewhere and link to it, or split it",
				f.Len(), format.MaxAttachmentSize>>30))
			continue
		}
		m := members[f.Path]
		if len(m) == 0 {
			errs.Add(diag.Errorf(f.Path, 0, "attachment that no planned block links (a bug in conclave; refused)"))
			continue
		}
		typ, err := mediaType(f)
		if err != nil {
			errs.Add(err)
			continue
		}
		a := &Attachment{File: f, Audience: p.audience(m, postQuantum), Type: typ}
		p.attached[f.Path] = a
		p.attachments = append(p.attachments, a)
	}
	return errs.Err()
}

// Attachments returns the planned attachments, by path.
func (p *Plan) Attachments() []*Attachment { return p.attachments }

// union returns the sorted union of the sorted lists a and b.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// mediaType is the media type of a content file: by its extension, as
// Go's mime package knows them (with the system's tables), else sniffed
// from its first bytes.
func mediaType(f site.File) (string, error) {
	if t := mime.TypeByExtension(path.Ext(f.Path)); t != "" {
		return t, nil
	}
	head, err := f.Head(512) // all DetectContentType reads
	return http.DetectContentType(head), err
}

// Packets is where [Sealer.SealAttachments] writes the attachments'
// packets, as streams ([output.Dir], [output.Memory]).
type Packets interface {
	Create() (*output.Stream, error)
}

// relinker is a [Packets] that can publish again a file of the previous
// output, checked against its digest ([output.Dir.Relink]).
type relinker interface {
	Relink(p string, sum [sha256.Size]byte) (bool, error)
}

// SealAttachments seals every attachment of the plan, each as a stream
// into out: the file is read a chunk at a time, and neither it nor its
// packet is ever held whole. Its plaintext is the header
// [format.Attachment.Header] gives, the file, and padding. With the
// cache, an unchanged file for the same audience key keeps its packet:
// the previous output's, checked against its digest and linked again.
func (s *Sealer) SealAttachments(out Packets) error {
	for _, a := range s.plan.attachments {
		ak := s.keys[a.Audience.ID]
		if ak == nil {
			return fmt.Errorf("%s: attachment's audience has no key (a bug in conclave)", a.File.Path)
		}
		hdr := format.Attachment{Path: a.File.OutPath, Type: a.Type, Size: a.File.Len()}.Header()
		place, content := attachmentPlace(ak.content, hdr), attachmentContent(a.File)
		cached := false
		if rec, ok := s.cache.attachment(place, content); ok {
			if rl, ok := out.(relinker); ok {
				var err error
				if cached, err = rl.Relink(rec.Packet, rec.Sum); err != nil {
					return &diag.Error{File: a.File.Path, Msg: "publishing the attachment's packet again: " + err.Error(), Err: err}
				}
			}
			if cached {
				a.Packet = rec.Packet
				s.cache.putAttachment(place, rec)
			}
		}
		if !cached {
			rec, err := sealAttachment(out, hdr, a.File, ak.recipient)
			if err != nil {
				return &diag.Error{File: a.File.Path, Msg: "sealing attachment: " + err.Error(), Err: err}
			}
			rec.Content = content
			a.Packet = rec.Packet
			s.cache.putAttachment(place, rec)
		}
		s.mu.Lock()
		s.emitted[a.Packet] = true
		s.stats.Attachments++
		s.stats.Packets++
		if cached {
			s.stats.CachedPackets++
		} else {
			s.stats.Fresh++
		}
		s.mu.Unlock()
	}
	return nil
}

// sealAttachment encrypts an attachment's plaintext, its header, the
// file's bytes and zeros to the Padmé size (the header says where the
// file ends), to r, as a stream from the file into a packet of out, and
// names the packet by its digest.
func sealAttachment(out Packets, hdr []byte, f site.File, r age.Recipient) (attachmentRecord, error) {
	size := f.Len()
	n := int64(len(hdr)) + size
	padded := int64(padmeSize(int(max(n, 512))))
	st, err := out.Create()
	if err != nil {
		return attachmentRecord{}, err
	}
	defer st.Abort() // after Commit, a no-op
	w, err := age.Encrypt(st, r)
	if err != nil {
		return attachmentRecord{}, err
	}
	if _, err := w.Write(hdr); err != nil {
		return attachmentRecord{}, err
	}
	var copied int64
	if err := f.Each(false, func(chunk []byte) error {
		copied += int64(len(chunk))
		if copied > size {
			return fmt.Errorf("changed while the site was built (%d bytes when read, more now): build again", size)
		}
		_, err := w.Write(chunk)
		return err
	}); err != nil {
		return attachmentRecord{}, err
	}
	if copied != size {
		return attachmentRecord{}, fmt.Errorf("changed while the site was built (%d bytes when read, %d now): build again", size, copied)
	}
	zeros := make([]byte, 1<<20)
	for left := padded - n; left > 0; left -= min(left, int64(len(zeros))) {
		if _, err := w.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			return attachmentRecord{}, err
		}
	}
	if err := w.Close(); err != nil {
		return attachmentRecord{}, err
	}
	sum, _, err := st.Sum()
	if err != nil {
		return attachmentRecord{}, err
	}
	rec := attachmentRecord{Packet: format.PacketPath(format.DigestNameOf(sum)), Sum: sum}
	return rec, st.Commit(rec.Packet)
}

// attachmentPlace identifies where an attachment is sealed, for the
// cache: its audience and key (prefix, [contentPrefix]) and its header
// (path, type, size).
func attachmentPlace(prefix, header []byte) string {
	h := sha256.New()
	h.Write([]byte("conclave attachment v2\n"))
	h.Write(prefix)
	h.Write(header)
	return hex.EncodeToString(h.Sum(nil))
}

// attachmentContent identifies the version of an attachment's file: the
// digest of its bytes if it is held in memory, else its fingerprint
// ([site.File.Fingerprint]), or "" if that cannot be trusted (the file is
// then sealed anew).
func attachmentContent(f site.File) string {
	if !f.Streamed() {
		sum := sha256.Sum256(f.Data)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	if fp, ok := f.Fingerprint(); ok {
		return "stat:" + fp
	}
	return ""
}

// linkAttachments points the links and images of d's restricted blocks
// that name an attachment to its packet, with the class
// [format.ClassAttachment], before any block is rendered.
func (s *Sealer) linkAttachments(d *markdown.Doc) error {
	for _, l := range d.FileLinks {
		a := s.plan.attached[l.File]
		if a == nil {
			continue // a public file
		}
		if a.Packet == "" {
			return diag.Errorf(d.Page.Path, l.Line, "attachment %s was not sealed (a bug in conclave; refused)", l.File)
		}
		dest := []byte(site.RelURL(d.Page.URL, "/"+a.Packet))
		switch n := l.Node.(type) {
		case *ast.Link:
			n.Destination = dest
		case *ast.Image:
			n.Destination = dest
		default:
			return diag.Errorf(d.Page.Path, l.Line, "link to attachment %s is not a link (a bug in conclave; refused)", l.File)
		}
		l.Node.SetAttributeString("class", []byte(format.ClassAttachment))
	}
	return nil
}

// writeBundled lists the attachments of a page bundle restricted as a
// whole at the end of its packet, so that every reader finds them,
// linked from the page or not.
func (s *Sealer) writeBundled(b *htmlBuffer, p *site.Page) {
	files := s.plan.bundled[p.Path]
	if len(files) == 0 {
		return
	}
	b.WriteString(`<section class="attachments">` + "\n<h2>Attachments</h2>\n<ul>\n")
	for _, f := range files {
		a := s.plan.attached[f]
		href := site.RelURL(p.URL, "/"+a.Packet)
		b.WriteString(`<li><a class="` + format.ClassAttachment + `" href="` + html.EscapeString(href) + `">` +
			html.EscapeString(strings.TrimPrefix(f, path.Dir(p.Path)+"/")) + "</a></li>\n")
	}
	b.WriteString("</ul>\n</section>\n")
}

// AttachmentSecrets returns, for the leak scan, what of each attachment
// must not be public: its path and name and, for a text file, its lines.
func (p *Plan) AttachmentSecrets() ([]leakcheck.Secret, error) {
	out := make([]leakcheck.Secret, 0, len(p.attachments))
	for _, a := range p.attachments {
		texts := []string{a.File.OutPath, path.Base(a.File.OutPath)}
		head, err := a.File.Head(64 << 10)
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(head, 0) < 0 {
			for line := range strings.Lines(string(head)) {
				if line = strings.TrimSpace(line); len(line) >= leakcheck.MinLen {
					texts = append(texts, line)
				}
			}
		}
		out = append(out, leakcheck.Secret{File: a.File.Path, Line: 1, Texts: texts})
	}
	return out, nil
}
