package restricted

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// newMarkdown is goldmark with this extension only.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(Extension))
}

// parseBlocks parses src and returns the tree, its blocks in document
// order, and the problems found.
func parseBlocks(md goldmark.Markdown, src []byte) (ast.Node, []*Block, []Problem) {
	pc := parser.NewContext()
	root := md.Parser().Parse(text.NewReader(src), parser.WithContext(pc))
	var blocks []*Block
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if b, ok := n.(*Block); ok && entering {
			blocks = append(blocks, b)
		}
		return ast.WalkContinue, nil
	})
	return root, blocks, Problems(pc)
}

var fuzzSeeds = []string{
	"::: restricted to=board\nSecret.\n:::\n",
	"::: restricted to=board,cisco-psirt tlp=amber+strict\n# Heading\n\n- a\n- b\n:::\n",
	":::restricted tlp=red to=a :::\nSecret.\n::::::\nAfter.\n",
	":::: restricted to=board\nOuter.\n::: restricted to=a\nInner.\n:::\nOuter two.\n::::\n",
	"::: restricted to=a\n```\n:::\n```\nStill secret.\n:::\n",
	"- item\n- ::: restricted to=a\n  secret\n  :::\n",
	"> ::: restricted to=a\n> secret\n> :::\n",
	"   ::: restricted to=a\n   x\n   :::\n",
	"\t::: restricted to=a\n",
	"-\t::: restricted to=a\n\tx\n\t:::\n",
	"::: Restricted to=a\nx\n:::\n",
	"::: restriced to=a\n",
	"::: note\nx\n:::\n",
	"::: restricted tp=amber to= to=b tlp=white\n",
	"::: restricted to=,Board,a\n",
	"x\n\n:::\n",
	":::\n",
	"::: restricted to=a\n<div>\n:::\n</div>\n:::\n",
	"Para\n::: restricted to=a\nx\n",
	"::: restricted to=a\r\nx\r\n:::\r\n",
	"::: restricted to=a\n::: restricted to=b\n:::: restricted to=c\n",
	"1. ::: restricted to=a\n   x\n   :::\n",
	"::: restricted to=a tlp=TLP:AMBER\nx\n:::",
}

// FuzzBlockParser checks the block parser on any input: it does not
// panic; problems lie within the source; a block closed by a fence spans
// Source[Offset:End] and starts with its colons; the opening line a block
// prints reads back as the same names and label; and a tree that holds a
// block never renders.
func FuzzBlockParser(f *testing.F) {
	if len(fuzzSeeds) == 0 {
		f.Fatal("no seeds for the fuzzer")
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	md := newMarkdown()
	f.Fuzz(func(t *testing.T, s string) {
		src := []byte(s)
		root, blocks, problems := parseBlocks(md, src)
		for _, p := range problems {
			if p.Offset < 0 || p.Offset >= len(src) {
				t.Fatalf("problem at offset %d of %d bytes: %s", p.Offset, len(src), p.Msg)
			}
			if p.Msg == "" {
				t.Fatalf("problem without a message at %d", p.Offset)
			}
		}
		for _, b := range blocks {
			checkBlock(t, src, b)
			roundTrip(t, md, b)
		}
		err := md.Renderer().Render(io.Discard, src, root)
		switch {
		case len(blocks) > 0 && !errors.Is(err, ErrUnsealed):
			t.Fatalf("a tree with %d blocks rendered: %v", len(blocks), err)
		case len(blocks) == 0 && err != nil:
			t.Fatalf("render: %v", err)
		}
	})
}

func checkBlock(t *testing.T, src []byte, b *Block) {
	t.Helper()
	if b.Whole || b.Fence < 3 {
		t.Fatalf("parsed block %s: whole %t, fence %d", b, b.Whole, b.Fence)
	}
	if b.Offset < 0 || b.Offset >= len(src) {
		t.Fatalf("block at offset %d of %d bytes", b.Offset, len(src))
	}
	if b.closed {
		if b.Offset >= b.End || b.End > len(src) {
			t.Fatalf("closed block spans [%d:%d] of %d bytes", b.Offset, b.End, len(src))
		}
		// The closing line, after the markers of any quote or list item.
		closing := bytes.TrimRight(lastLine(src[b.Offset:b.End]), " \t\r\n\v\f") // util.IsBlank's spaces
		if n := len(closing) - len(bytes.TrimRight(closing, ":")); n < b.Fence {
			t.Fatalf("closed block %q does not end with a closing line of at least %d colons", src[b.Offset:b.End], b.Fence)
		}
	} else if b.End != 0 {
		t.Fatalf("unclosed block with End %d", b.End)
	}
	rest := src[b.Offset:]
	indent := 0
	for indent < len(rest) && indent < 4 && rest[indent] == ' ' {
		indent++
	}
	if indent > 3 || indent == len(rest) || rest[indent] != ':' {
		t.Fatalf("block source at %d does not start with ':' after at most 3 spaces: %q", b.Offset, rest[:min(len(rest), 40)])
	}
	if n, _ := colons(rest[indent:]); n != b.Fence {
		t.Fatalf("block source at %d starts with %d colons, fence %d", b.Offset, n, b.Fence)
	}
}

// lastLine returns the last line of b, without its line ending.
func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// roundTrip parses b's opening line, as String prints it, with a body and
// a closing line, and checks that it reads back as the same block.
func roundTrip(t *testing.T, md goldmark.Markdown, b *Block) {
	t.Helper()
	opening := b.String()
	src := []byte(opening + "\nbody\n" + strings.Repeat(":", b.Fence) + "\n")
	_, blocks, problems := parseBlocks(md, src)
	if len(blocks) != 1 {
		t.Fatalf("%q parses as %d blocks", src, len(blocks))
	}
	got := blocks[0]
	if got.TLP != b.TLP || (got.To == nil) != (b.To == nil) || !slices.Equal(got.To, b.To) || got.Fence != b.Fence || !got.closed {
		t.Fatalf("%q reads back as to=%q tlp=%v fence %d closed %t; want to=%q tlp=%v fence %d", opening, got.To, got.TLP, got.Fence, got.closed, b.To, b.TLP, b.Fence)
	}
	// Only an empty to= (the names written were all refused) is a
	// problem once printed.
	if len(problems) > 0 && (b.To == nil || len(b.To) > 0) {
		t.Fatalf("%q has problems: %v", opening, problems)
	}
}
