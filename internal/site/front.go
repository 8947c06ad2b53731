package site

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// Front is a page's front matter.
type Front struct {
	Title    string
	Date     time.Time // zero if not given
	Summary  string
	Tags     []string
	Draft    bool
	Slug     string
	Weight   int
	TLP      tlp.Label
	Audience []string // whole page restricted to these names
	// Embargo is the time from which a page restricted as a whole is
	// published in clear, with the label After (tlp.None: clear); zero for
	// none. Lifted is set, and Audience cleared, by the load of a site
	// whose time is at or after it (see [Options.Now]).
	Embargo time.Time
	After   tlp.Label
	Lifted  bool
	// lines are the 1-based lines in the file of the keys that were set,
	// in the order of frontKeys, 0 for those not set (see [Front.Line]):
	// at 50,000 pages, a map a page held 13 MB.
	lines [len(frontKeys)]int32
}

// Line returns the 1-based line in the file of front matter key, one of
// the keys conclave reads (title, audience, …), or 0 if it was not set:
// a key set has a line.
func (f *Front) Line(key string) int {
	if i := slices.Index(frontKeys[:], key); i >= 0 {
		return int(f.lines[i])
	}
	return 0
}

// SetLine records that key, one of the keys conclave reads, was set on
// line (1 or more) of the file: for a page made by a program, not read
// from a file.
func (f *Front) SetLine(key string, line int) {
	i := slices.Index(frontKeys[:], key)
	if i < 0 || line < 1 {
		panic(fmt.Sprintf("site: SetLine(%q, %d): not a front matter key and line", key, line))
	}
	f.lines[i] = int32(line)
}

var frontKeys = [...]string{"title", "date", "summary", "tags", "draft", "slug", "weight", "tlp", "audience", "embargo", "after"}

var slugPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// dateLayouts are the accepted spellings of a date, most specific first.
var dateLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseFront splits src into front matter and body and interprets the front
// matter. file names the source in messages. bodyLine is the 1-based line
// of the file on which body starts.
//
// YAML front matter sits between "---" lines, TOML between "+++" lines. A
// file with neither has an empty front matter. Unknown keys are returned as
// warnings; every other problem is a [diag.List] of located errors.
func ParseFront(file string, src []byte) (front Front, body []byte, bodyLine int, warns []*diag.Warning, err error) {
	delim := firstLine(src)
	if delim != "---" && delim != "+++" {
		if err := checkStrayFront(file, src, 1, false); err != nil {
			return front, nil, 0, nil, err
		}
		return front, src, 1, nil, nil
	}
	// Find the closing delimiter on a line of its own.
	rest := src[len(firstLineRaw(src)):]
	fm, after, ok := cutAtLine(rest, delim)
	if !ok {
		return front, nil, 0, nil, diag.Errorf(file, 1, "front matter opened with %q is never closed (add a line %q after it)", delim, delim)
	}
	bodyLine = 2 + bytes.Count(fm, []byte("\n")) + 1
	var fields []field
	if delim == "---" {
		fields, err = yamlFields(file, fm)
	} else {
		fields, err = tomlFields(file, fm)
	}
	if err != nil {
		return front, nil, 0, nil, err
	}
	var errs diag.List
	for _, f := range fields {
		w, err := front.set(file, f)
		errs.Add(err)
		if w != nil {
			warns = append(warns, w)
		}
	}
	if err := errs.Err(); err != nil {
		return front, nil, 0, warns, err
	}
	if err := front.checkEmbargo(file); err != nil {
		return front, nil, 0, warns, err
	}
	if err := checkStrayFront(file, after, bodyLine, true); err != nil {
		return front, nil, 0, warns, err
	}
	return front, after, bodyLine, warns, nil
}

// checkEmbargo checks the keys of a page's embargo together: an embargo
// holds a page restricted as a whole, and after: only relaxes its label.
func (fr *Front) checkEmbargo(file string) error {
	switch {
	case !fr.Embargo.IsZero() && fr.Audience == nil:
		return diag.Errorf(file, fr.Line("embargo"), "embargo: only a page restricted as a whole (with an audience:) can wait for its embargo; this page would be public at once: name its audience, or put the embargoed text in a block, ::: restricted to=NAME embargo=TIME")
	case fr.After != tlp.None && fr.Embargo.IsZero():
		return diag.Errorf(file, fr.Line("after"), "after: is the label the page is published with when its embargo lifts: give embargo: too")
	case fr.After != tlp.None && fr.TLP != tlp.None && fr.After > fr.TLP:
		return diag.Errorf(file, fr.Line("after"), "after: %s is stricter than tlp: %s: a page's label can only relax when its embargo lifts", fr.After, fr.TLP)
	}
	return nil
}

// Lift publishes a page restricted as a whole whose embargo has lifted at
// now (a zero now lifts nothing): its audience is cleared, its label
// becomes After (clear if not given), and Lifted is set.
func (fr *Front) Lift(now time.Time) {
	if fr.Embargo.IsZero() || fr.Audience == nil || now.IsZero() || now.Before(fr.Embargo) {
		return
	}
	fr.Audience, fr.Lifted = nil, true
	fr.TLP = cmp.Or(fr.After, tlp.Clear)
}

// checkStrayFront refuses text that looks like front matter (a "---" or
// "+++" line followed by a "key: value" or "key = value" line) before the
// first paragraph of src, whose first line is line firstLine of file. Only
// blank lines, white space, byte-order marks and HTML comments may precede
// it. Read as markdown, it would be published as text, and its keys
// (audience, draft) ignored: the page would be public. second says that
// src is the body after a front matter block.
func checkStrayFront(file string, src []byte, firstLine int, second bool) error {
	// Lines as slices of src: a page's body is not copied.
	lines := bytes.Split(src, []byte("\n"))
	var before []string // what precedes the delimiter, for the message
	inComment := false
	for i, raw := range lines {
		line := bytes.TrimFunc(raw, isBlankRune)
		switch {
		case inComment:
			inComment = !bytes.Contains(line, []byte("-->"))
			continue
		case len(line) == 0:
			before = appendOnce(before, blankKind(string(raw)))
			continue
		case bytes.HasPrefix(line, []byte("<!--")):
			before = appendOnce(before, "an HTML comment")
			inComment = !bytes.Contains(line[4:], []byte("-->"))
			continue
		}
		if !isFrontDelim(line) || !keysFollow(lines[i+1:]) {
			return checkGuardedFront(file, lines[i:], firstLine+i)
		}
		if len(line) != len(raw) {
			before = appendOnce(before, blankKind(string(raw)))
		}
		const risk = "its keys (audience, draft, …) would be ignored and the page published with them as text"
		if second {
			return diag.Errorf(file, firstLine+i, "a second front matter block: a page has one, at the top of the file, and %s; merge it into the first, or if %q is meant as a rule, put a paragraph before it", risk, line)
		}
		return diag.Errorf(file, firstLine+i, "front matter must start on the file's first line, and %s comes before this %q: %s; remove what comes before it", strings.Join(before, " and "), line, risk)
	}
	return nil
}

// checkGuardedFront refuses, anywhere in lines (the body from its first
// text on, the first of them being line first of file), a block that
// looks like front matter and sets audience or draft: after a heading, a
// rule or a list, it would be published as text, and the page with it.
// Examples in fenced code blocks are left alone.
func checkGuardedFront(file string, lines [][]byte, first int) error {
	var fence []byte
	for i, raw := range lines {
		bare := bareLine(raw)
		if fence != nil {
			if bytes.HasPrefix(bare, fence) {
				fence = nil
			}
			continue
		}
		if bytes.HasPrefix(bare, []byte("```")) || bytes.HasPrefix(bare, []byte("~~~")) {
			fence = bare[:3]
			continue
		}
		if !isFrontDelim(bare) {
			continue
		}
		for _, next := range lines[i+1:] {
			key := bareLine(next)
			if bytes.HasPrefix(key, []byte("#")) {
				continue
			}
			m := frontKey.FindSubmatchIndex(key)
			if m == nil || isFrontDelim(key) {
				break
			}
			name := strings.ToLower(strings.Trim(strings.TrimSpace(string(key[:m[2]])), `"'`))
			for _, guard := range []string{"audience", "draft"} {
				if name == guard || diag.Suggest(name, []string{guard}) != "" {
					return diag.Errorf(file, first+i, "this looks like front matter that sets %s, but front matter is read only at the top of the file: here it would be published as text, and the page with it; move the keys into the front matter on the first line", name)
				}
			}
		}
	}
	return nil
}

// frontDelim and frontKey recognise what looks like front matter: a run of
// three or more '-' or '+' (perhaps followed by a word or a comment), then,
// after any comment lines, a line "key: value" or "key = value".
var (
	frontDelim = regexp.MustCompile(`^(?:-{3,}|\+{3,})(?:[ \t].*|[A-Za-z]*)$`)
	frontKey   = regexp.MustCompile(`^["']?[A-Za-z_][A-Za-z0-9_.-]*["']?[ \t]*(:|=)(\s|$)`)
)

// bareLine returns line without the quote markers, white space and
// invisible characters (see isBlankRune) before and among them, nor the
// white space and invisible characters after it: "> \u200Baudience:" in a
// quote is a key as "audience:" is.
func bareLine(line []byte) []byte {
	for {
		bare := bytes.TrimLeft(bytes.TrimFunc(line, isBlankRune), ">")
		if len(bare) == len(line) {
			return line
		}
		line = bare
	}
}

// isFrontDelim reports whether line matches frontDelim: only a line that
// starts with "---" or "+++" is matched against it.
func isFrontDelim(line []byte) bool {
	return (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("+++"))) && frontDelim.Match(line)
}

// keysFollow reports whether lines, those after a delimiter, start with a
// front matter key once comment lines are skipped.
func keysFollow(lines [][]byte) bool {
	for _, raw := range lines {
		line := bytes.TrimFunc(raw, isBlankRune)
		if bytes.HasPrefix(line, []byte("#")) {
			continue
		}
		return frontKey.Match(line)
	}
	return false
}

// isBlankRune reports white space and the invisible characters an editor
// may leave at the start of a file: byte-order marks, zero-width spaces
// and joiners.
func isBlankRune(r rune) bool {
	switch r {
	case '\uFEFF', '\u200B', '\u200C', '\u200D', '\u2060', '\u00A0':
		return true
	}
	return unicode.IsSpace(r)
}

// blankKind names the invisible text in a blank line.
func blankKind(line string) string {
	switch {
	case line == "":
		return "a blank line"
	case strings.ContainsAny(line, "\uFEFF\u200B\u200C\u200D\u2060"):
		return "a byte-order mark or zero-width character"
	}
	return "white space"
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// field is one top-level front matter key with its decoded value.
type field struct {
	key   string
	line  int
	value any    // string, bool, int64, float64, time.Time, []any, map[string]any
	raw   string // the scalar as written, for YAML scalars
}

func (fr *Front) set(file string, f field) (*diag.Warning, error) {
	bad := func(format string, args ...any) error {
		return diag.Errorf(file, f.line, "%s: "+format, append([]any{f.key}, args...)...)
	}
	switch f.key {
	case "title", "summary", "slug":
		s, ok := scalarString(f)
		if !ok {
			return nil, bad("want text, got %s", kindOf(f.value))
		}
		s = strings.TrimSpace(s)
		switch f.key {
		case "title":
			fr.Title = s
		case "summary":
			fr.Summary = s
		case "slug":
			if !slugPattern.MatchString(s) || strings.Contains(s, "..") {
				return nil, bad("%q is not a valid slug (letters, digits, '.', '_' and '-', no slashes)", s)
			}
			fr.Slug = s
		}
	case "date":
		var t time.Time
		switch v := f.value.(type) {
		case time.Time:
			t = v
		default:
			s, ok := scalarString(f)
			if !ok {
				return nil, bad("want a date such as 2007-07-17, got %s", kindOf(f.value))
			}
			var err error
			if t, err = parseDate(s); err != nil {
				return nil, bad("%v", err)
			}
		}
		fr.Date = t
	case "tags", "audience":
		list, err := stringList(f)
		if err != nil {
			return nil, bad("%v", err)
		}
		if f.key == "tags" {
			for _, tag := range list {
				if Slugify(tag) == "" {
					return nil, bad("tag %q has no letters or digits", tag)
				}
				if n := len(Slugify(tag)); n > manifest.MaxName {
					return nil, bad("tag %.40q... is too long: its page's folder name would be %d bytes, more than %d", tag, n, manifest.MaxName)
				}
			}
			fr.Tags = list
		} else {
			for _, n := range list {
				if !NamePattern.MatchString(n) {
					return nil, bad("%q is not a recipient or group name (want lower-case letters, digits, '.', '_' or '-')", n)
				}
			}
			if len(list) == 0 {
				return nil, bad("empty audience: name at least one recipient or group")
			}
			fr.Audience = list
		}
	case "draft":
		b, ok := f.value.(bool)
		if !ok {
			return nil, bad("want true or false, got %s", kindOf(f.value))
		}
		fr.Draft = b
	case "weight":
		switch v := f.value.(type) {
		case int64:
			fr.Weight = int(v)
		case int:
			fr.Weight = v
		default:
			return nil, bad("want a whole number, got %s", kindOf(f.value))
		}
	case "tlp", "after":
		s, ok := scalarString(f)
		if !ok {
			return nil, bad("want a TLP label, got %s", kindOf(f.value))
		}
		l, err := tlp.Parse(s)
		if err != nil {
			return nil, bad("%v", err)
		}
		if f.key == "tlp" {
			fr.TLP = l
		} else {
			fr.After = l
		}
	case "embargo":
		// The time as written: YAML and TOML would read a time without
		// a zone as UTC, which ParseEmbargo refuses.
		s := f.raw
		if s == "" {
			switch v := f.value.(type) {
			case string:
				s = v
			case time.Time:
				s = v.Format(time.RFC3339Nano)
			default:
				return nil, bad("want a time such as 2026-12-09T17:00:00Z, got %s", kindOf(f.value))
			}
		}
		t, err := ParseEmbargo(strings.TrimSpace(s))
		if err != nil {
			return nil, bad("%v", err)
		}
		fr.Embargo = t
	default:
		if nested := guardedKey(f.value); nested != "" {
			return nil, diag.Errorf(file, f.line, "%s: holds a key %q, which conclave reads only at the top level of front matter (refused: the page would be published to everyone); move it to the top level", f.key, nested)
		}
		// A misspelt audience or draft would publish the page to everyone:
		// refuse it rather than warn.
		for _, guard := range []string{"audience", "draft"} {
			if strings.EqualFold(f.key, guard) || diag.Suggest(strings.ToLower(f.key), []string{guard}) != "" {
				return nil, diag.Errorf(file, f.line, "unknown front matter key %q: did you mean %q? (refused: a misspelt %s would publish the page to everyone)", f.key, guard, guard)
			}
		}
		w := diag.Errorf(file, f.line, "unknown front matter key %q", f.key)
		if s := diag.Suggest(f.key, frontKeys[:]); s != "" {
			w.Msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			w.Msg += " (known: " + strings.Join(frontKeys[:], ", ") + ")"
		}
		return w, nil
	}
	fr.lines[slices.Index(frontKeys[:], f.key)] = int32(max(f.line, 1)) // set: never 0
	return nil, nil
}

// guardedKey returns the name of a key anywhere inside v (a table, or a
// list of tables) that reads as audience or draft, or "".
func guardedKey(v any) string {
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			for _, guard := range []string{"audience", "draft"} {
				if strings.EqualFold(k, guard) || diag.Suggest(strings.ToLower(k), []string{guard}) != "" {
					return k
				}
			}
			if k := guardedKey(inner); k != "" {
				return k
			}
		}
	case []any:
		for _, inner := range v {
			if k := guardedKey(inner); k != "" {
				return k
			}
		}
	}
	return ""
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD, optionally with a time such as 2007-07-17T09:30:00Z)", s)
}

func scalarString(f field) (string, bool) {
	switch v := f.value.(type) {
	case string:
		return v, true
	case int, int64, float64, bool:
		if f.raw != "" {
			return f.raw, true
		}
		return fmt.Sprint(v), true
	}
	return "", false
}

func stringList(f field) ([]string, error) {
	var items []any
	switch v := f.value.(type) {
	case []any:
		items = v
	case string:
		items = []any{v}
	default:
		return nil, fmt.Errorf("want a list such as [a, b], got %s", kindOf(f.value))
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		switch v := it.(type) {
		case string:
			s = v
		case int, int64, float64, bool:
			s = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("list items must be text, got %s", kindOf(it))
		}
		if s = strings.TrimSpace(s); s == "" {
			return nil, errors.New("empty item in list")
		}
		out = append(out, s)
	}
	return out, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "text"
	case bool:
		return "true/false"
	case int64, int, float64:
		return "a number"
	case time.Time:
		return "a date"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlFields(file string, fm []byte) ([]field, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(fm, &doc); err != nil {
		msg := err.Error()
		line := 2
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			line, msg = 1+n, m[2]
			// go-yaml counts lines from 0 in its parser's errors (but not
			// its scanner's): "did not find expected ..." is one too early.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		return nil, &diag.Error{File: file, Line: line, Msg: "front matter: " + msg, Err: err}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty front matter
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, diag.Errorf(file, 1+root.Line, "front matter must be a mapping of keys to values, such as \"title: My briefing\"")
	}
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		f := field{key: k.Value, line: 1 + k.Line}
		if prev, dup := seen[k.Value]; dup {
			return nil, diag.Errorf(file, f.line, "front matter: key %q already set on line %d", k.Value, prev)
		}
		seen[k.Value] = f.line
		if v.Kind == yaml.ScalarNode {
			f.raw = v.Value
		}
		if v.Kind == yaml.AliasNode {
			return nil, diag.Errorf(file, 1+v.Line, "%s: YAML aliases are not supported in front matter", k.Value)
		}
		if err := v.Decode(&f.value); err != nil {
			return nil, diag.Errorf(file, 1+v.Line, "%s: %v", k.Value, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			f.value = nil
		}
		out = append(out, f)
	}
	return out, nil
}

func tomlFields(file string, fm []byte) ([]field, error) {
	var m map[string]any
	md, err := toml.Decode(string(fm), &m)
	if err != nil {
		return nil, tomlError(file, 1, err)
	}
	lines := tomlKeyLines(fm)
	var out []field
	for _, k := range md.Keys() {
		if len(k) != 1 {
			continue // nested keys belong to a table reported by its parent
		}
		key := k[0]
		f := field{key: key, line: 1 + max(lines[key], 1), value: normalizeTOML(m[key])}
		if t, ok := m[key].(time.Time); ok && localTOML(t) {
			// As written, without its zone: an embargo refuses it.
			f.raw = t.Format("2006-01-02T15:04:05")
		}
		out = append(out, f)
	}
	return out, nil
}

// localTOML reports whether t is a TOML local date or time, written
// without a zone.
func localTOML(t time.Time) bool {
	loc := t.Location().String()
	return strings.HasPrefix(loc, "date") || strings.HasPrefix(loc, "time")
}

// ParseEmbargo reads an embargo time: RFC 3339, with its offset from UTC
// or Z, such as 2026-12-09T17:00:00Z. A time without a zone is refused:
// whose 17:00 it means would be a guess, and a wrong guess lifts an
// embargo hours early.
func ParseEmbargo(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err == nil {
		return t, nil
	}
	why := "not an RFC 3339 time with its zone"
	var pe *time.ParseError
	if errors.As(err, &pe) && pe.Message != "" {
		why = strings.TrimPrefix(pe.Message, ": ")
	} else if _, err2 := time.Parse("2006-01-02T15:04:05", s); err2 == nil {
		why = "no zone: whose time is it?"
	} else if _, err2 := time.Parse("2006-01-02", s); err2 == nil {
		why = "a date without a time and zone"
	}
	return time.Time{}, fmt.Errorf("%q: %s (want an RFC 3339 time with its zone, such as 2026-12-09T17:00:00Z or 2026-12-09T18:00:00+01:00)", s, why)
}

// normalizeTOML turns BurntSushi/toml's values into the kinds yamlFields
// produces: local dates and times become UTC instants.
func normalizeTOML(v any) any {
	switch v := v.(type) {
	case time.Time:
		if localTOML(v) {
			return time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = normalizeTOML(v[i])
		}
		return out
	case []map[string]any:
		return fmt.Sprintf("%v", v)
	}
	return v
}

// firstLine returns the first line of src without its line ending and
// trailing spaces.
func firstLine(src []byte) string {
	return strings.TrimRight(string(firstLineRaw(src)), " \t\r\n")
}

func firstLineRaw(src []byte) []byte {
	if i := bytes.IndexByte(src, '\n'); i >= 0 {
		return src[:i+1]
	}
	return src
}

// cutAtLine finds the first line of src that equals delim (ignoring
// trailing spaces) and returns what comes before and after that line.
func cutAtLine(src []byte, delim string) (before, after []byte, ok bool) {
	off := 0
	for off <= len(src) {
		end := bytes.IndexByte(src[off:], '\n')
		line := src[off:]
		next := len(src)
		if end >= 0 {
			line = src[off : off+end]
			next = off + end + 1
		}
		if strings.TrimRight(string(line), " \t\r") == delim {
			return src[:off], src[next:], true
		}
		if end < 0 {
			break
		}
		off = next
	}
	return nil, nil, false
}

// checkText refuses data that is not UTF-8, naming the first bad line.
func checkText(file string, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return &diag.Error{File: file, Line: line, Col: col, Msg: "not valid UTF-8 text (save the file as UTF-8)"}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}
