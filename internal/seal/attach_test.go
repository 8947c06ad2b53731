package seal

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/site"
)

// fileSite resolves every relative link of a test page to itself, and
// names content/<dest> as the content file it points to.
type fileSite struct{}

func (fileSite) Resolve(_ *site.Page, dest string) (string, bool, string) { return dest, true, "" }
func (fileSite) FileTarget(_ *site.Page, dest string) (string, bool) {
	return "content/" + dest, true
}

// An attachment is sealed for the union of the audiences of the blocks
// that link it, once; the largest sealed as an attachment fits a packet,
// and one byte more is a located error, sealed nowhere.
func TestAttach(t *testing.T) {
	conv := newConv(t)
	p := page("content/b/x.md", "::: restricted to=board tlp=amber\nThe [log](log.bin).\n:::\n\n::: restricted to=carol tlp=amber\n![Log](log.bin) and [big](big.bin).\n:::\n")
	d := conv.Parse(p, fileSite{})
	if len(d.FileLinks) != 3 {
		t.Fatalf("%d file links, want 3", len(d.FileLinks))
	}
	plan, err := NewPlan([]*markdown.Doc{d}, fixtureRegistry(t), config())
	if err != nil {
		t.Fatal(err)
	}
	files := []site.File{
		{Path: "content/big.bin", OutPath: "big.bin", Size: format.MaxAttachmentSize + 1}, // streamed: never read
		{Path: "content/log.bin", OutPath: "log.bin", Data: []byte("the log\n")},
	}
	err = plan.Attach([]*markdown.Doc{d}, files, func(string) *site.Page { return nil }, false)
	if err == nil || !strings.Contains(err.Error(), "content/big.bin") || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("err = %v, want big.bin refused for its size", err)
	}
	files[0] = site.File{Path: "content/big.bin", OutPath: "big.bin", Data: bytes.Repeat([]byte("big"), 1<<20)}
	plan, err = NewPlan([]*markdown.Doc{d}, fixtureRegistry(t), config())
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Attach([]*markdown.Doc{d}, files, func(string) *site.Page { return nil }, false); err != nil {
		t.Fatal(err)
	}
	atts := plan.Attachments()
	if len(atts) != 2 || !slices.Equal(atts[1].Audience.Members, []string{"alice", "bob", "carol"}) || !slices.Equal(atts[0].Audience.Members, []string{"carol"}) {
		t.Fatalf("attachments %v %v, want big.bin for carol and log.bin for the board and carol", atts[0].Audience.Members, atts[1].Audience.Members)
	}
	s, err := NewSealer(plan, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := output.NewMemory()
	if err := s.SealAttachments(out); err != nil {
		t.Fatal(err)
	}
	if len(out.Entries()) != 2 {
		t.Fatalf("%d packets, want 2", len(out.Entries()))
	}
	for _, e := range out.Entries() {
		if e.Size < 3<<20 && e.Path == atts[0].Packet {
			t.Errorf("%s: %d bytes, less than the file it seals", e.Path, e.Size)
		}
	}
}
