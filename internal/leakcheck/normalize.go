package leakcheck

import (
	"encoding/binary"
	"html"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// Byte classes for the normalising pass.
const (
	plain = iota
	space // ' ', '\t', '\r', '\n'
	amp   // '&', the start of a character reference
)

var class = [256]uint8{' ': space, '\t': space, '\r': space, '\n': space, '&': amp}

// normText appends the normalised form of output text src to dst: character
// references decoded as [html.UnescapeString] decodes them, then every run
// of whitespace replaced by one space. Leading and trailing whitespace is
// kept (as one space).
//
// It makes one pass over src, eight bytes at a time where nothing changes,
// and allocates only for references to exotic characters.
func normText(dst, src []byte) []byte { return normalize(dst, src, true) }

// normPlain is [normText] without decoding: for text that is not HTML, such
// as file names and public plain text.
func normPlain(dst, src []byte) []byte { return normalize(dst, src, false) }

// SWAR constants: a byte of each.
const (
	ones = 0x0101010101010101
	low7 = 0x7f7f7f7f7f7f7f7f
)

// eq returns x with 0x80 in each byte that equals c and 0 in the others.
func eq(x uint64, c byte) uint64 {
	v := x ^ ones*uint64(c)
	return ^((v&low7 + low7) | v | low7)
}

// control returns x with 0x80 in the lowest byte that is below 0x20, if
// any; higher bytes may be marked wrongly.
func control(x uint64) uint64 {
	return (x - ones*0x20) &^ x & (ones * 0x80)
}

func normalize(dst, src []byte, decode bool) []byte {
	start := len(dst)
	// Decoding never makes text longer: the output fits in len(src) bytes,
	// and out[j:] is never shorter than src[i:].
	dst = slices.Grow(dst, len(src))
	out := dst[:start+len(src)]
	j := start
	for i := 0; i < len(src); {
		// Copy eight bytes at a time up to one that may change the text: a
		// reference, a tab, CR or LF (or another control character), or a
		// space before a space.
		if i+8 <= len(src) && !(src[i] == ' ' && j > start && out[j-1] == ' ') {
			x := binary.LittleEndian.Uint64(src[i:])
			sp := eq(x, ' ')
			m := control(x) | sp&(sp>>8)
			if decode {
				m |= eq(x, '&')
			}
			binary.LittleEndian.PutUint64(out[j:], x)
			if m == 0 {
				i += 8
				j += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			i += k
			j += k
		}
		switch c := src[i]; class[c] {
		case space:
			for i++; i < len(src) && class[src[i]] == space; i++ {
			}
			if j == start || out[j-1] != ' ' {
				out[j] = ' '
				j++
			}
		case amp:
			if !decode {
				out[j] = c
				j++
				i++
				continue
			}
			r, n, lit := reference(src[i:])
			i += n
			if lit == "" {
				// r may be negative, from a wrapped-around number, which
				// EncodeRune writes as U+FFFD, as html does.
				if 0 <= r && r < 0x80 {
					if class[r] != space {
						out[j] = byte(r)
						j++
					} else if j == start || out[j-1] != ' ' {
						out[j] = ' '
						j++
					}
				} else {
					j += utf8.EncodeRune(out[j:], r)
				}
				continue
			}
			for k := 0; k < len(lit); k++ {
				if b := lit[k]; class[b] != space {
					out[j] = b
					j++
				} else if j == start || out[j-1] != ' ' {
					out[j] = ' '
					j++
				}
			}
		default:
			out[j] = c
			j++
			i++
		}
	}
	return out[:j]
}

// longestName bounds the named references that [html.UnescapeString] can
// decode in full ("CounterClockwiseContourIntegral;" is 32 bytes); past it,
// only the legacy references of at most 6 letters can match, as a prefix.
const longestName = 40

// reference decodes the character reference at the start of s (s[0] ==
// '&') exactly as [html.UnescapeString] does. It returns the length n it
// consumed and, if lit is "", the rune r it decodes to, or else the text
// lit. An '&' that starts no reference decodes to itself, with n == 1.
func reference(s []byte) (r rune, n int, lit string) {
	if len(s) <= 1 {
		return '&', 1, ""
	}
	if s[1] == '#' {
		return numeric(s)
	}
	i := 1
	for i < len(s) {
		c := s[i]
		i++
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if c != ';' {
			i--
		}
		break
	}
	if i == 1 {
		return '&', 1, ""
	}
	// The references that goldmark, html/template and encoding/xml write.
	switch string(s[1:i]) {
	case "amp;":
		return '&', i, ""
	case "lt;":
		return '<', i, ""
	case "gt;":
		return '>', i, ""
	case "quot;":
		return '"', i, ""
	case "apos;":
		return '\'', i, ""
	case "nbsp;":
		return '\u00a0', i, ""
	}
	if d, ok := named[string(s[1:i])]; ok {
		return 0, i, d
	}
	// Any other: let package html decide. The name holds no '&', so the
	// part it leaves undecoded comes back as it was.
	seg := s[:min(i, longestName)]
	return 0, len(seg), html.UnescapeString(string(seg))
}

// named holds the decoded text of references that themes commonly use,
// as package html decodes them, so that decoding them does not allocate.
var named = func() map[string]string {
	m := map[string]string{}
	for _, name := range strings.Fields(`middot copy reg trade mdash ndash hellip rarr larr uarr darr harr
		laquo raquo lsquo rsquo ldquo rdquo sbquo bdquo bull times divide deg plusmn para sect shy
		ensp emsp thinsp zwj zwnj lrm rlm euro pound yen cent check cross star hearts`) {
		m[name+";"] = html.UnescapeString("&" + name + ";")
	}
	return m
}()

// numeric decodes a numeric character reference ("&#65;", "&#x41", ...),
// following html's unescapeEntity to the letter, including its wrapping
// 32-bit arithmetic on absurdly long digit strings.
func numeric(s []byte) (rune, int, string) {
	if len(s) <= 3 { // "&#" and one more byte at least
		return '&', 1, ""
	}
	i := 2
	c := s[i]
	hex := false
	if c == 'x' || c == 'X' {
		hex = true
		i++
	}
	x := rune(0)
	for i < len(s) {
		c = s[i]
		i++
		if hex {
			switch {
			case '0' <= c && c <= '9':
				x = 16*x + rune(c) - '0'
				continue
			case 'a' <= c && c <= 'f':
				x = 16*x + rune(c) - 'a' + 10
				continue
			case 'A' <= c && c <= 'F':
				x = 16*x + rune(c) - 'A' + 10
				continue
			}
		} else if '0' <= c && c <= '9' {
			x = 10*x + rune(c) - '0'
			continue
		}
		if c != ';' {
			i--
		}
		break
	}
	if i <= 3 {
		return '&', 1, ""
	}
	if 0x80 <= x && x <= 0x9f {
		x = windows1252[x-0x80]
	} else if x == 0 || 0xd800 <= x && x <= 0xdfff || x > 0x10ffff {
		x = '\ufffd'
	}
	return x, i, ""
}

// windows1252 is how html decodes the references &#128; to &#159;.
var windows1252 = [32]rune{
	'\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
	'\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
	'\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
	'\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
}
