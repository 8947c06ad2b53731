package render

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/themes"
)

// Layouts that a theme may provide. Each page kind is rendered with
// baseof.html, every partial, and its own file; a kind file that defines
// no "main" block is a whole page by itself.
var kinds = []string{"page", "home", "section", "tag", "tags", "404", "search"}

// NoThemeError is returned for a theme name with no folder in the site.
type NoThemeError struct{ Name string }

func (e *NoThemeError) Error() string {
	return fmt.Sprintf("theme %q not found: no folder themes/%s/ in the site", e.Name, e.Name)
}

// Theme is a parsed theme: the embedded default with any files of the
// site's themes/<name>/ laid over it.
type Theme struct {
	Name    string
	sets    map[string]*template.Template // by kind
	whole   map[string]bool               // kinds whose file is a whole page, not a "main" block
	sources map[string]string             // template file name → path for messages
	static  []staticFile
	unlock  *Script           // the unlock script, if the theme ships one
	search  *Script           // the search script, if the theme ships one
	digest  [sha256.Size]byte // of the layouts and the unlock script's integrity
	layouts [][]byte          // every layout's text
}

// Script is a script pages load: its path from the site root and its
// Subresource Integrity value.
type Script struct {
	Src       string
	Integrity string
}

// IntegrityAttr is the integrity attribute, whole: html/template would
// otherwise write the base64 digest's "+" as "&#43;".
func (s *Script) IntegrityAttr() template.HTMLAttr {
	return template.HTMLAttr(`integrity="` + s.Integrity + `"`) // "sha384-" and base64: nothing to escape
}

// UnlockScript is where a theme ships the script that unlocks sealed
// passages in the browser; pages with sealed passages load it.
const UnlockScript = format.UnlockScript

// SearchScript is where a theme ships the script that answers searches;
// every page loads it, and has a search box, unless the site turns
// search off.
const SearchScript = format.SearchScript

type staticFile struct {
	out  string // output path, e.g. "css/conclave.css"
	fsys fs.FS
	name string // path in fsys
	src  string // path for messages
}

// layer is one source of theme files, in order of precedence.
type layer struct {
	fsys  fs.FS
	label string // how to name its files in messages, e.g. "themes/default"
}

// LoadTheme parses the theme name for the site at root. The default theme
// is embedded; a folder themes/<name>/ in the site overrides any of its
// files by path. Template syntax errors name the file and line.
func LoadTheme(root, name string) (*Theme, error) {
	dir := filepath.Join(root, "themes", name)
	var layers []layer
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		layers = append(layers, layer{os.DirFS(dir), "themes/" + name})
	} else if name != "default" {
		return nil, &NoThemeError{Name: name}
	}
	layers = append(layers, layer{themes.Default, "themes/default (built in)"})

	t := &Theme{Name: name, sets: map[string]*template.Template{}, whole: map[string]bool{}, sources: map[string]string{}}
	read := func(p string) (string, []byte, error) {
		for _, l := range layers {
			data, err := fs.ReadFile(l.fsys, p)
			if err == nil {
				return l.label + "/" + p, data, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", nil, err
			}
		}
		return "", nil, fs.ErrNotExist
	}
	partials, err := union(layers, "layouts/partials")
	if err != nil {
		return nil, err
	}
	var errs diag.List
	layouts := map[string][]byte{} // every layout read, by path
	for _, kind := range kinds {
		set := template.New(kind).Funcs(funcs)
		files := []string{"layouts/baseof.html"}
		for _, p := range partials {
			if strings.HasSuffix(p, ".html") {
				files = append(files, p)
			}
		}
		files = append(files, "layouts/"+kind+".html")
		for _, f := range files {
			src, data, err := read(f)
			if err != nil {
				errs.Add(fmt.Errorf("theme %s: %s: %w", name, f, err))
				continue
			}
			layouts[f] = data
			tname := strings.TrimPrefix(strings.TrimPrefix(f, "layouts/partials/"), "layouts/")
			t.sources[tname] = src
			if tname == kind+".html" {
				// Does the kind file fill baseof's "main" block, or stand alone?
				alone, err := template.New(tname).Funcs(funcs).Parse(string(data))
				if err == nil && alone.Lookup("main") == nil {
					t.whole[kind] = true
				}
			}
			if _, err := set.New(tname).Parse(string(data)); err != nil {
				errs.Add(t.locate(err))
			}
		}
		t.sets[kind] = set
	}
	statics, err := union(layers, "static")
	if err != nil {
		return nil, err
	}
	for _, p := range statics {
		for _, l := range layers {
			if _, err := fs.Stat(l.fsys, p); err == nil {
				t.static = append(t.static, staticFile{out: strings.TrimPrefix(p, "static/"), fsys: l.fsys, name: p, src: l.label + "/" + p})
				break
			}
		}
	}
	for _, sc := range []struct {
		src string
		to  **Script
	}{{UnlockScript, &t.unlock}, {SearchScript, &t.search}} {
		if _, data, err := read("static/" + sc.src); err == nil {
			sum := sha512.Sum384(data)
			*sc.to = &Script{Src: sc.src, Integrity: "sha384-" + base64.StdEncoding.EncodeToString(sum[:])}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	h := sha256.New()
	for _, f := range slices.Sorted(maps.Keys(layouts)) {
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(layouts[f]))
		h.Write(layouts[f])
		t.layouts = append(t.layouts, layouts[f])
	}
	for _, sc := range []*Script{t.unlock, t.search} {
		if sc != nil {
			fmt.Fprintf(h, "%s\x00%s\x00", sc.Src, sc.Integrity) // pages name it
		}
	}
	h.Sum(t.digest[:0])
	if err := errs.Err(); err != nil {
		return nil, err // a broken partial is parsed once per kind: Err drops the repeats
	}
	return t, nil
}

// union lists the regular files under dir in every layer, sorted.
func union(layers []layer, dir string) ([]string, error) {
	seen := map[string]bool{}
	for _, l := range layers {
		err := fs.WalkDir(l.fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == dir {
					return fs.SkipDir
				}
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != dir {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				seen[p] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Layouts returns the text of every layout: the words the theme writes on
// every page are published on purpose.
func (t *Theme) Layouts() [][]byte { return t.layouts }

// Digest is a digest of the theme's layouts: the same data rendered with
// layouts of the same digest gives the same page.
func (t *Theme) Digest() [sha256.Size]byte { return t.digest }

// Execute renders the layout of kind with data.
func (t *Theme) Execute(w io.Writer, kind string, data any) error {
	set := t.sets[kind]
	name := "baseof.html"
	if t.whole[kind] {
		name = kind + ".html"
	}
	if err := set.ExecuteTemplate(w, name, data); err != nil {
		return t.locate(err)
	}
	return nil
}

// executeItem renders [ItemLayout] with v.
func (t *Theme) executeItem(w io.Writer, v ItemView) error {
	// Every kind's set holds every partial, the built-in theme's under
	// the site's.
	if err := t.sets["home"].ExecuteTemplate(w, ItemLayout, v); err != nil {
		return t.locate(err)
	}
	return nil
}

var templateErr = regexp.MustCompile(`^template: ([^:]+):(\d+):(?:(\d+):)? ?(.*)$`)

// locate turns an html/template error into a located error that names the
// theme file it came from.
func (t *Theme) locate(err error) error {
	msg := err.Error()
	m := templateErr.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("theme %s: %w", t.Name, err)
	}
	file := t.sources[m[1]]
	if file == "" {
		file = m[1]
	}
	line, _ := strconv.Atoi(m[2])
	col, _ := strconv.Atoi(m[3])
	return &diag.Error{File: file, Line: line, Col: col, Msg: "template: " + m[4], Err: err}
}

// Static calls emit for every static file of the theme.
func (t *Theme) Static(emit func(out string, data []byte) error) error {
	for _, f := range t.static {
		data, err := fs.ReadFile(f.fsys, f.name)
		if err != nil {
			return fmt.Errorf("%s: %w", f.src, err)
		}
		if err := emit(f.out, data); err != nil {
			return fmt.Errorf("%s: %w", f.src, err)
		}
	}
	return nil
}

// HasStatic reports whether the theme ships a static file at out.
func (t *Theme) HasStatic(out string) bool {
	for _, f := range t.static {
		if f.out == out {
			return true
		}
	}
	return false
}

var funcs = template.FuncMap{
	// dict builds a map from key, value pairs for passing to a partial.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict wants key, value pairs")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"base":  path.Base,
	"join":  strings.Join,
}
