package main

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// maxLine is the most bytes of one line safeWriter passes on: errors
// quote names and values from the site being read, which a hostile copy
// makes as long as it likes.
const maxLine = 4096

// safeWriter passes text on to a terminal with nothing in it that the
// terminal would act on or that would hide what is printed: control
// characters (escape sequences, carriage returns) other than newline and
// tab, Unicode format characters (bidirectional overrides, zero-width
// characters) and invalid UTF-8 are written as Go escapes ("\x1b",
// "\u202e"), and a line longer than maxLine bytes is cut. Messages quote
// file names, bundle fields and page attributes of sites that may be
// hostile: a bundle whose media type held escape sequences could
// otherwise print a false "verified" line and hide the real failure.
type safeWriter struct {
	w    io.Writer
	line int  // bytes of the current line passed on
	cut  bool // the current line was cut
}

func (s *safeWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		var piece []byte
		switch {
		case r == '\n':
			s.line, s.cut = 0, false
			out = append(out, '\n')
			i += size
			continue
		case r == utf8.RuneError && size == 1:
			piece = fmt.Appendf(nil, `\x%02x`, p[i])
		case r == '\t' || !unicode.IsControl(r) && !unicode.Is(unicode.Cf, r):
			piece = p[i : i+size]
		case r < 0x100:
			piece = fmt.Appendf(nil, `\x%02x`, r)
		default:
			piece = fmt.Appendf(nil, `\u%04x`, r)
		}
		i += size
		if s.cut {
			continue
		}
		if s.line+len(piece) > maxLine {
			s.cut = true
			out = append(out, " … (line cut)"...)
			continue
		}
		s.line += len(piece)
		out = append(out, piece...)
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
