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
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
)

// MaxAttachment is the largest file sealed as an attachment: its packet,
// padded and encrypted, stays within [manifest.MaxPacket].
const MaxAttachment = manifest.MaxPacket - manifest.MaxPacket/8 - 1<<20

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
		if n := len(f.Data); n > MaxAttachment {
			errs.Add(diag.Errorf(f.Path, 0, "sealed as an attachment, but %d bytes: an attachment may be at most %d MiB, sealed, as readers read a packet whole within %d MiB; publish it elsewhere and link to it, or split it",
				n, MaxAttachment>>20, manifest.MaxPacket>>20))
			continue
		}
		m := members[f.Path]
		if len(m) == 0 {
			errs.Add(diag.Errorf(f.Path, 0, "attachment that no planned block links (a bug in conclave; refused)"))
			continue
		}
		a := &Attachment{File: f, Audience: p.audience(m, postQuantum), Type: mediaType(f)}
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
func mediaType(f site.File) string {
	if t := mime.TypeByExtension(path.Ext(f.Path)); t != "" {
		return t
	}
	return http.DetectContentType(f.Data)
}

// SealAttachments seals every attachment of the plan and emits its packet.
// Its plaintext is the header [format.Attachment.Header] gives, the file,
// and padding; with the cache, an unchanged file for the same audience
// key keeps its packet.
func (s *Sealer) SealAttachments(emit Emit) error {
	for _, a := range s.plan.attachments {
		ak := s.keys[a.Audience.ID]
		if ak == nil {
			return fmt.Errorf("%s: attachment's audience has no key (a bug in conclave)", a.File.Path)
		}
		hdr := format.Attachment{Path: a.File.OutPath, Type: a.Type, Size: int64(len(a.File.Data))}.Header()
		var key string // the file is hashed for the cache only
		if s.cache != nil {
			key = attachmentKey(ak.content, hdr, a.File.Data)
		}
		ct, cached := s.cache.packet(key)
		if !cached {
			var err error
			if ct, err = sealAttachment(hdr, a.File.Data, ak.recipient); err != nil {
				return &diag.Error{File: a.File.Path, Msg: "sealing attachment: " + err.Error(), Err: err}
			}
			ct = s.cache.putPacket(key, ct)
		}
		a.Packet = format.PacketPath(format.DigestName(ct))
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
		if err := emit(a.Packet, ct); err != nil {
			return &diag.Error{File: a.File.Path, Msg: err.Error(), Err: err}
		}
	}
	return nil
}

// sealAttachment encrypts an attachment's plaintext, its header, its data
// and zeros to the Padmé size (the header says where the file ends), to
// r, streamed from the file's bytes into a buffer of the packet's size:
// the plaintext is never copied whole.
func sealAttachment(hdr, data []byte, r age.Recipient) ([]byte, error) {
	n := len(hdr) + len(data)
	padded := padmeSize(max(n, 512))
	// age: a header of at most a few KiB (a post-quantum stanza is the
	// largest), a 16-byte nonce, and 16 bytes of tag per 64 KiB chunk.
	var b bytes.Buffer
	b.Grow(padded + padded/(64<<10)*16 + 16 + 8<<10)
	w, err := age.Encrypt(&b, r)
	if err != nil {
		return nil, err
	}
	for _, part := range [][]byte{hdr, data} {
		if _, err := w.Write(part); err != nil {
			return nil, err
		}
	}
	var zeros [64 << 10]byte
	for left := padded - n; left > 0; left -= min(left, len(zeros)) {
		if _, err := w.Write(zeros[:min(left, len(zeros))]); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// attachmentKey identifies an attachment's packet in the cache: its
// audience and key (prefix, [contentPrefix]), its header (path, type,
// size) and its bytes.
func attachmentKey(prefix, header, data []byte) string {
	h := sha256.New()
	h.Write([]byte("conclave attachment v1\n"))
	h.Write(prefix)
	h.Write(header)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
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
func (p *Plan) AttachmentSecrets() []leakcheck.Secret {
	out := make([]leakcheck.Secret, 0, len(p.attachments))
	for _, a := range p.attachments {
		texts := []string{a.File.OutPath, path.Base(a.File.OutPath)}
		if head := a.File.Data[:min(len(a.File.Data), 64<<10)]; bytes.IndexByte(head, 0) < 0 {
			for line := range strings.Lines(string(head)) {
				if line = strings.TrimSpace(line); len(line) >= leakcheck.MinLen {
					texts = append(texts, line)
				}
			}
		}
		out = append(out, leakcheck.Secret{File: a.File.Path, Line: 1, Texts: texts})
	}
	return out
}
