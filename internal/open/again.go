package open

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// Opening again. A readable copy records, for each page it opened, the
// digest of the page as the site held it, what opening it gave and the
// attachments it wrote ([copyRecord], in [RecordFile]). When the copy is
// written again (conclave open again, or conclave pull after a new
// release), a page whose bytes are the same, opened with the same audience
// keys, is taken from the old copy instead of being opened again: its
// passages are named by the digests of their packets, nested passages and
// attachments by the digests of theirs, so the same page bytes and the
// same keys open to the same text. A page that had any problem is opened
// again. An attachment is taken again by the digest of its packet,
// whichever page links it ([Reader.reuse]): a page that changed does not
// make a large file unchanged since be decrypted again.

// RecordFile is the record of a readable copy, at its top. It is the
// reader's own: two copies of the same pages differ in it (it holds a
// digest of the keys that opened them, which each release may change).
const RecordFile = ".conclave-opened.json"

// recordVersion changes whenever what a copy's page holds for the same
// page and keys changes.
const recordVersion = 1

// copyRecord is what a readable copy records of how it was written.
type copyRecord struct {
	Version int
	// Keys is a digest of the audience keys the identities opened: with
	// others, no page of the copy is taken again.
	Keys  string
	Pages map[string]pageRecord // by the page's path in the site
	// Attachments are the attachments written, by packet path: one whose
	// packet has the same digest is taken again, whichever page links it.
	Attachments map[string]attachmentRecord `json:",omitempty"`
}

// attachmentRecord is what decrypting one attachment's packet gave.
type attachmentRecord struct {
	Sum  string // SHA-256 of the packet, in hex
	Path string // the file's path in the copy
	Size int64  // and its size
}

// pageRecord is what opening one page gave.
type pageRecord struct {
	Sum               string // SHA-256 of the page as the site held it, in hex
	Opened, NotForYou int
	Attachments       map[string]string `json:",omitempty"` // packet path → path in the copy
}

// keysDigest is the digest of the audience keys ids, or "" when one of
// them cannot be written out (then no page is taken again).
func keysDigest(ids []age.Identity) string {
	lines := make([]string, 0, len(ids))
	for _, id := range ids {
		s, ok := id.(fmt.Stringer)
		if !ok {
			return ""
		}
		lines = append(lines, s.String())
	}
	slices.Sort(lines)
	h := sha256.New()
	h.Write([]byte("conclave open keys v1\n"))
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadRecord reads the record of the copy at out, or returns nil when
// there is none, it cannot be read, or it is of another version or other
// keys: every page is then opened.
func loadRecord(out, keys string) *copyRecord {
	if keys == "" {
		return nil
	}
	f, err := os.Open(filepath.Join(out, RecordFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	var rec copyRecord
	if err := json.NewDecoder(io.LimitReader(f, 256<<20)).Decode(&rec); err != nil || rec.Version != recordVersion || rec.Keys != keys {
		return nil
	}
	return &rec
}

// again takes the page at rel, whose bytes have the digest sum, from the
// old copy into target, with its attachments, if the old copy's record
// says it opened those bytes with these keys without a problem and still
// holds its files. It reports whether it did.
func (r *Reader) again(rel, target string, sum [sha256.Size]byte) bool {
	if r.prev == nil {
		return false
	}
	pr, ok := r.prev.Pages[rel]
	if !ok || pr.Sum != hex.EncodeToString(sum[:]) {
		return false
	}
	// Every file first, so that nothing is linked unless all of it is.
	files := []string{rel}
	for packet, p := range pr.Attachments {
		// The record is a file of the old copy: its paths are checked
		// as an attachment's header is.
		if !format.IsPacketPath(packet) || checkAttachmentPath(p) != nil {
			return false
		}
		if done, ok := r.attachments[packet]; ok && done.path != p {
			return false
		}
		if _, ok := r.attachments[packet]; !ok {
			files = append(files, p)
		}
	}
	for _, p := range files {
		if info, err := os.Lstat(filepath.Join(r.prevDir, filepath.FromSlash(p))); err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	for _, p := range files {
		dst := filepath.Join(r.copyDir, filepath.FromSlash(p))
		if p == rel {
			dst = target
		}
		if err := linkOrCopy(filepath.Join(r.prevDir, filepath.FromSlash(p)), dst); err != nil {
			return false
		}
	}
	for packet, p := range pr.Attachments {
		if _, ok := r.attachments[packet]; !ok {
			r.attachments[packet] = attached{path: p}
			r.attachedAt[p] = packet
			r.report.Attachments++
			if rec, ok := r.prev.Attachments[packet]; ok && rec.Path == p {
				r.record.Attachments[packet] = rec
			}
		}
	}
	r.report.Pages++
	r.report.Opened += pr.Opened
	r.report.NotForYou += pr.NotForYou
	r.report.Again++
	r.record.Pages[rel] = pr
	return true
}

// reuse takes the file of the attachment packet p from the old copy, if
// its record says it wrote it from a packet of the same digest (that of
// the verified manifest, or else of the packet's bytes, hashed), with the
// same keys, and the file is still there, of the size it had: the same
// packet bytes and keys decrypt to the same file. It is linked, not
// decrypted again, whichever page links it now. It reports whether it
// did; if not, the packet is decrypted.
func (r *Reader) reuse(p string) (string, bool) {
	if r.prev == nil {
		return "", false
	}
	rec, ok := r.prev.Attachments[p]
	if !ok {
		return "", false
	}
	var sum [sha256.Size]byte
	if r.sums != nil {
		if sum, ok = r.sums[p]; !ok {
			return "", false
		}
	} else {
		var err error
		if sum, err = manifest.HashFile(r.fsys, p, manifest.AttachmentPacketLimit); err != nil {
			return "", false
		}
	}
	if hex.EncodeToString(sum[:]) != rec.Sum || r.claim(rec.Path) != nil {
		return "", false
	}
	old := filepath.Join(r.prevDir, filepath.FromSlash(rec.Path))
	if info, err := os.Lstat(old); err != nil || !info.Mode().IsRegular() || info.Size() != rec.Size {
		return "", false
	}
	target := filepath.Join(r.copyDir, filepath.FromSlash(rec.Path))
	if err := linkOrCopy(old, target); err != nil {
		os.Remove(target)
		return "", false
	}
	r.attachedAt[rec.Path] = p
	r.record.Attachments[p] = rec
	return rec.Path, true
}

// linkOrCopy makes dst the file src of the old copy: a hard link, or a
// copy where links are refused.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil || errors.Is(err, os.ErrExist) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// saveRecord writes the record of the copy being written, at its top.
func (r *Reader) saveRecord() error {
	if r.record.Keys == "" {
		return nil
	}
	data, err := json.Marshal(r.record)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.copyDir, RecordFile), data, 0o600)
}
