package format

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// An attachment is a content file that only restricted text links to, or
// that sits in the folder of a page bundle restricted as a whole (DESIGN
// §2, §4a). It is sealed as a packet of its own ([PacketPath], named by
// the digest of its ciphertext, like a passage's), for the union of the
// audiences of the passages that link it. Its plaintext is:
//
//	conclave-attachment v1 size=1234 type=application%2Fpdf path=briefings/cve/report.pdf\n
//	<the file's 1234 bytes>
//	<padding>
//
// one header line ([AttachmentHeader]), the file's bytes, then padding to
// a size that says little about the file's (Padmé). An age user strips
// the header line and the padding:
//
//	age -d -i ring.txt packets/NAME.age > sealed.bin
//	head -n 1 sealed.bin                                # its size, type and path
//	tail -n +2 sealed.bin | head -c SIZE > report.pdf
//
// In the passage's HTML, a link or image to the file points to the packet
// instead (its href or src resolves to a [PacketPath]), with the class
// [ClassAttachment]. Readers decrypt the packet, check its header, and
// offer the bytes under the file's name and type (the unlock script), or
// write them at the file's path and point the link there (conclave open).
const (
	// AttachmentMagic starts an attachment's plaintext.
	AttachmentMagic = "conclave-attachment v1"
	// ClassAttachment marks a link or image of a passage whose target is
	// an attachment's packet.
	ClassAttachment = "attachment"
	// MaxAttachmentHeader is the longest header line a reader accepts,
	// its newline included.
	MaxAttachmentHeader = 4096
	// MaxAttachmentSize is the largest file sealed as an attachment (4
	// GiB). Sealing and every reader stream it: none holds it whole.
	MaxAttachmentSize = 4 << 30
	// MaxAttachmentPacket is the most bytes an attachment's packet may
	// hold: the largest file with its header, padded (Padmé adds at most
	// 12%) and encrypted (age adds 16 bytes per 64 KiB and a header of a
	// few KiB). Readers stream a packet of more than a passage's 64 MiB,
	// and only as an attachment.
	MaxAttachmentPacket = 5 << 30
)

// Attachment is what an attachment's header says of its file.
type Attachment struct {
	// Path is the file's slash path in the site's output (and in a
	// readable copy), e.g. "briefings/cve/report.pdf".
	Path string
	// Type is its media type, e.g. "application/pdf".
	Type string
	// Size is its size in bytes: what follows the header, before the
	// padding.
	Size int64
}

// Header returns the header line of the attachment's plaintext, newline
// included. Its values are %-escaped, so that it holds no space or
// newline of theirs.
func (a Attachment) Header() []byte {
	return fmt.Appendf(nil, "%s size=%d type=%s path=%s\n", AttachmentMagic, a.Size, url.PathEscape(a.Type), (&url.URL{Path: a.Path}).EscapedPath())
}

// ErrNotAttachment is returned by [ParseAttachment] for a plaintext that
// does not start with [AttachmentMagic]: a passage's packet.
var ErrNotAttachment = errors.New("not an attachment")

// ParseAttachment reads the header at the start of an attachment's
// plaintext, and returns what it says and the offset of the file's first
// byte. It checks the header's form, and that Size bytes follow it: the
// caller checks the path it names before it writes there.
func ParseAttachment(plaintext []byte) (Attachment, int, error) {
	a, start, err := ParseAttachmentHeader(plaintext)
	if err != nil {
		return a, 0, err
	}
	if int64(len(plaintext)-start) < a.Size {
		return a, 0, fmt.Errorf("attachment header: says %d bytes, %d follow", a.Size, len(plaintext)-start)
	}
	return a, start, nil
}

// ParseAttachmentHeader is [ParseAttachment] for the first bytes of an
// attachment's plaintext, which a reader decrypting it as a stream reads
// first (at most [MaxAttachmentHeader] bytes hold the header): it checks
// the header's form only, and the caller that Size bytes follow it.
func ParseAttachmentHeader(plaintext []byte) (Attachment, int, error) {
	if !bytes.HasPrefix(plaintext, []byte(AttachmentMagic+" ")) {
		return Attachment{}, 0, ErrNotAttachment
	}
	end := bytes.IndexByte(plaintext[:min(len(plaintext), MaxAttachmentHeader)], '\n')
	if end < 0 {
		return Attachment{}, 0, errors.New("attachment header: no end of line within 4 KiB")
	}
	fields := strings.Fields(string(plaintext[len(AttachmentMagic):end]))
	var a Attachment
	seen := map[string]bool{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || seen[k] {
			return a, 0, fmt.Errorf("attachment header: bad field %q", f)
		}
		seen[k] = true
		var err error
		switch k {
		case "size":
			a.Size, err = strconv.ParseInt(v, 10, 64)
			if err == nil && a.Size < 0 {
				err = errors.New("negative")
			}
		case "type":
			a.Type, err = url.PathUnescape(v)
		case "path":
			a.Path, err = url.PathUnescape(v)
		default:
			err = errors.New("unknown field")
		}
		if err != nil {
			return a, 0, fmt.Errorf("attachment header: %s: %v", k, err)
		}
	}
	if !seen["size"] || !seen["type"] || !seen["path"] {
		return a, 0, errors.New("attachment header: size, type or path missing")
	}
	return a, end + 1, nil
}
