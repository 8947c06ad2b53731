package open

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/site"
)

// An attachment is a file sealed as a packet of its own (DESIGN §4a,
// [format.Attachment]): a passage links it with a link or image of class
// [format.ClassAttachment] whose href or src is the packet's path,
// relative to the page. A readable copy holds the file at its original
// path, and the passage's link points there.

// attachmentTag finds the start tags of links and images that name an
// attachment, and attachmentURL the attribute that names its packet.
var (
	attachmentTag = regexp.MustCompile(`<(?:a|img)\s[^>]*\bclass="` + regexp.QuoteMeta(format.ClassAttachment) + `"[^>]*>`)
	attachmentURL = regexp.MustCompile(`\b(href|src)="([^"]*)"`)
)

// openAttachments writes the attachments the passage plain (of the page
// at st.page) links to into the copy, and returns the passage with those
// links pointing at them. An attachment that cannot be opened is a
// problem of the page, and its link is left as it is.
func (r *Reader) openAttachments(plain []byte, st *pageState) []byte {
	if r.copyDir == "" || !bytes.Contains(plain, []byte(`class="`+format.ClassAttachment+`"`)) {
		return plain
	}
	dir := path.Dir(st.page)
	return attachmentTag.ReplaceAllFunc(plain, func(tag []byte) []byte {
		m := attachmentURL.FindSubmatchIndex(tag)
		if m == nil {
			return tag
		}
		ref := html.UnescapeString(string(tag[m[4]:m[5]]))
		p := path.Join(dir, ref)
		if !format.IsPacketPath(p) {
			st.problem("attachment link %s does not name a packet: left as it is", quote(ref))
			return tag
		}
		written, err := r.attachment(p)
		if err != nil {
			st.problem("attachment %s not opened: %v", p, err)
			return tag
		}
		if written == "" {
			return tag // not for the reader
		}
		if st.attached == nil {
			st.attached = map[string]string{}
		}
		st.attached[p] = written
		href := site.RelURL("/"+st.page, "/"+written)
		out := append([]byte(nil), tag[:m[4]]...)
		out = append(out, html.EscapeString(href)...)
		return append(out, tag[m[5]:]...)
	})
}

// attachment decrypts the attachment packet p, once, and writes its file
// into the copy; it returns the file's path there, or "" if the reader's
// keyrings do not open it.
func (r *Reader) attachment(p string) (string, error) {
	if done, ok := r.attachments[p]; ok {
		return done.path, done.err
	}
	written, err := r.writeAttachment(p)
	r.attachments[p] = attached{written, err}
	if err == nil && written != "" {
		r.report.Attachments++
	}
	return written, err
}

// attached is what [Reader.attachment] did with a packet.
type attached struct {
	path string
	err  error
}

// writeAttachment writes the file of the attachment packet p into the
// copy, or takes it from the copy this one replaces ([Reader.reuse]). The
// packet is decrypted as a stream ([packetStream]) into a temporary file
// next to the file's path, renamed to it only once age has authenticated
// every chunk and the packet's digest matches its name and the verified
// manifest: a packet altered, cut short or swapped leaves nothing at the
// file's path, and no temporary file.
func (r *Reader) writeAttachment(p string) (string, error) {
	if written, ok := r.reuse(p); ok {
		return written, nil
	}
	s, err := r.openStream(p, manifest.AttachmentPacketLimit)
	if err != nil {
		return "", attachmentError(err)
	}
	defer s.close()
	ok, err := s.decrypt(r.packetIDs)
	if err != nil || !ok {
		return "", attachmentError(err)
	}
	head, err := s.head()
	if err != nil {
		return "", attachmentError(err)
	}
	a, start, err := format.ParseAttachmentHeader(head)
	if err != nil {
		return "", attachmentError(s.fail(err))
	}
	if err := r.claim(a.Path); err != nil {
		return "", err
	}
	r.attachedAt[a.Path] = p
	target := filepath.Join(r.copyDir, filepath.FromSlash(a.Path))
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return "", &diag.Error{File: a.Path, Msg: err.Error(), Err: err}
	}
	// A hidden name: no file of the site, nor any attachment, has one.
	tmp, err := os.CreateTemp(filepath.Dir(target), ".conclave-attachment-*")
	if err != nil {
		return "", &diag.Error{File: a.Path, Msg: err.Error(), Err: err}
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	err = s.copyAttachment(ctx, struct{ io.Writer }{tmp}, a, head[start:])
	if err == nil {
		err = s.finish(true)
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = &writeError{cerr}
	}
	if err == nil {
		if _, lerr := os.Lstat(target); lerr == nil {
			err = &writeError{&fs.PathError{Op: "rename", Path: target, Err: fs.ErrExist}}
		} else if rerr := os.Rename(tmp.Name(), target); rerr != nil {
			err = &writeError{rerr}
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
		if we := (*writeError)(nil); errors.As(err, &we) {
			return "", &diag.Error{File: a.Path, Msg: we.Error(), Err: we.err}
		}
		return "", attachmentError(err)
	}
	r.record.Attachments[p] = attachmentRecord{Sum: hex.EncodeToString(s.sum[:]), Path: a.Path, Size: a.Size}
	return a.Path, nil
}

// attachmentError is err, a problem with an attachment's packet, without
// the path a *fs.PathError repeats.
func attachmentError(err error) error {
	if fe := (*fileError)(nil); errors.As(err, &fe) {
		return errors.New(reason(fe.err))
	}
	return err
}

// claim checks that an attachment may be written at the path p of the
// copy: no other attachment is, and the site holds no file there.
func (r *Reader) claim(p string) error {
	if err := checkAttachmentPath(p); err != nil {
		return err
	}
	if other, taken := r.attachedAt[p]; taken {
		return fmt.Errorf("its path %s is that of another attachment, %s", quote(p), other)
	}
	if _, err := fs.Stat(r.fsys, p); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("its path %s is that of a file of the site", quote(p))
	}
	return nil
}

// checkAttachmentPath checks the path an attachment's header names. It
// comes from a packet the site's signer sealed, and is still checked as
// any path of a site is: it must be one a build may write (no hidden
// name), outside packets/, not the manifest's, and free of format
// characters (U+202E and the like), which would show a name other than
// the file's: "gpj.exe" as "exe.jpg".
func checkAttachmentPath(p string) error {
	if err := manifest.CheckPath(p); err != nil {
		return fmt.Errorf("its path %s: %v", quote(p), err)
	}
	if p == format.PacketDir || strings.HasPrefix(p, format.PacketDir+"/") || manifest.Excluded(p) ||
		strings.IndexFunc(p, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) >= 0 {
		return fmt.Errorf("its path %s is one no attachment may have", quote(p))
	}
	return nil
}
