package open

import (
	"bytes"
	"errors"
	"fmt"
	"html"
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

func (r *Reader) writeAttachment(p string) (string, error) {
	plain, ok, err := r.decryptFile(p, manifest.PacketLimit, r.packetIDs)
	if fe := (*fileError)(nil); errors.As(err, &fe) {
		return "", errors.New(reason(fe.err))
	}
	if err != nil || !ok {
		return "", err
	}
	a, start, err := format.ParseAttachment(plain)
	if err != nil {
		return "", err
	}
	if err := checkAttachmentPath(a.Path); err != nil {
		return "", err
	}
	if other, taken := r.attachedAt[a.Path]; taken {
		return "", fmt.Errorf("its path %s is that of another attachment, %s", quote(a.Path), other)
	}
	if _, err := fs.Stat(r.fsys, a.Path); !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("its path %s is that of a file of the site", quote(a.Path))
	}
	r.attachedAt[a.Path] = p
	target := filepath.Join(r.copyDir, filepath.FromSlash(a.Path))
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = f.Write(plain[start : start+int(a.Size)])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return "", &diag.Error{File: a.Path, Msg: err.Error(), Err: err}
	}
	return a.Path, nil
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
