package site

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// ConfigFile is the name of the site configuration file at the site root.
const ConfigFile = "conclave.toml"

// Config is the site configuration read from conclave.toml.
type Config struct {
	Title       string
	BaseURL     string // absolute, ends in "/"; "" when not set
	Language    string // BCP 47 tag for <html lang>, default "en"
	Description string
	Copyright   string
	Theme       string // folder under themes/; "default" is embedded
	// TLP maps a label to the audience that a restricted block with that
	// label and no to= gets by default.
	TLP map[tlp.Label][]string
	// PostQuantum makes every audience key a hybrid post-quantum one, even
	// for audiences whose members have classic keys only.
	PostQuantum bool
	// RefuseLinkable is set by [seal] linkable = false: the site refuses
	// every recipient key whose age stanzas carry a tag of the public key
	// (SSH, tag and plugin keys), so that no one who holds a recipient's
	// public key can tell which keyring is theirs. The default, false,
	// allows them.
	RefuseLinkable bool
	// NoSearch is set by [search] enabled = false: the build writes no
	// search page or index, and pages have no search box.
	NoSearch bool
	lines    map[string]int // by lower-case key

	// HighlightStyle is the chroma style for code blocks, default "github";
	// HighlightStyleDark the one for readers who prefer a dark scheme,
	// default "github-dark".
	HighlightStyle, HighlightStyleDark string
}

type rawConfig struct {
	Title       string              `toml:"title"`
	BaseURL     string              `toml:"baseURL"`
	Language    string              `toml:"language"`
	Description string              `toml:"description"`
	Copyright   string              `toml:"copyright"`
	Theme       string              `toml:"theme"`
	TLP         map[string][]string `toml:"tlp"`
	Markup      struct {
		HighlightStyle     string `toml:"highlightStyle"`
		HighlightStyleDark string `toml:"highlightStyleDark"`
	} `toml:"markup"`
	Seal struct {
		PostQuantum bool  `toml:"postQuantum"`
		Linkable    *bool `toml:"linkable"` // nil: not set, allowed
	} `toml:"seal"`
	Search struct {
		Enabled *bool `toml:"enabled"` // nil: not set, on
	} `toml:"search"`
}

var configKeys = []string{"title", "baseURL", "language", "description", "copyright", "theme", "tlp", "markup", "markup.highlightStyle", "markup.highlightStyleDark", "seal", "seal.postQuantum", "seal.linkable", "search", "search.enabled"}

// NamePattern is what a recipient or group name looks like.
var NamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

var themePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// LoadConfig reads conclave.toml from the site root. Problems that stop the
// build are returned as a [diag.List]; unknown keys are returned as warnings.
func LoadConfig(root string) (*Config, []*diag.Warning, error) {
	data, err := os.ReadFile(joinPath(root, ConfigFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s not found in %s: is this a conclave site? (create one with: conclave new site DIR)", ConfigFile, root)
		}
		return nil, nil, err
	}
	return ParseConfig(data)
}

// ParseConfig parses the contents of conclave.toml.
func ParseConfig(data []byte) (*Config, []*diag.Warning, error) {
	const file = ConfigFile
	if err := checkText(file, data); err != nil {
		return nil, nil, err
	}
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, nil, tomlError(file, 0, err)
	}
	lines := tomlKeyLines(data)
	var warns []*diag.Warning
	for _, k := range md.Undecoded() {
		key := k.String()
		if strings.HasPrefix(key, "tlp.") {
			continue // decoded as a map; checked below
		}
		w := diag.Errorf(file, keyLine(lines, k[len(k)-1]), "unknown key %q", key)
		if s := diag.Suggest(key, configKeys); s != "" {
			w.Msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		warns = append(warns, w)
	}
	cfg := &Config{
		Title:              strings.TrimSpace(raw.Title),
		Language:           raw.Language,
		Description:        raw.Description,
		Copyright:          raw.Copyright,
		Theme:              raw.Theme,
		HighlightStyle:     raw.Markup.HighlightStyle,
		HighlightStyleDark: raw.Markup.HighlightStyleDark,
		TLP:                map[tlp.Label][]string{},
		PostQuantum:        raw.Seal.PostQuantum,
		NoSearch:           raw.Search.Enabled != nil && !*raw.Search.Enabled,
		RefuseLinkable:     raw.Seal.Linkable != nil && !*raw.Seal.Linkable,
		lines:              lines,
	}
	var errs diag.List
	if cfg.Title == "" {
		errs.Add(diag.Errorf(file, 1, "title is missing or empty"))
	}
	if cfg.Language == "" {
		cfg.Language = "en"
	}
	if cfg.Theme == "" {
		cfg.Theme = "default"
	}
	if !themePattern.MatchString(cfg.Theme) {
		errs.Add(diag.Errorf(file, keyLine(lines, "theme"), "theme %q is not a folder name under themes/", cfg.Theme))
	}
	if cfg.HighlightStyle == "" {
		cfg.HighlightStyle = "github"
	}
	if cfg.HighlightStyleDark == "" {
		cfg.HighlightStyleDark = "github-dark"
	}
	if raw.BaseURL != "" {
		u, err := url.Parse(raw.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "" {
			errs.Add(diag.Errorf(file, keyLine(lines, "baseURL"), "baseURL %q must be an absolute http or https URL such as \"https://briefings.example.org/\"", raw.BaseURL))
		} else {
			if !strings.HasSuffix(u.Path, "/") {
				u.Path += "/"
			}
			cfg.BaseURL = u.String()
		}
	}
	for label, names := range raw.TLP {
		l, err := tlp.Parse(label)
		if err != nil {
			errs.Add(diag.Errorf(file, keyLine(lines, label), "[tlp]: %v", err))
			continue
		}
		for _, n := range names {
			if !NamePattern.MatchString(n) {
				errs.Add(diag.Errorf(file, keyLine(lines, label), "[tlp] %s: %q is not a recipient or group name (want lower-case letters, digits, '.', '_' or '-')", label, n))
			}
		}
		if len(names) == 0 {
			errs.Add(diag.Errorf(file, keyLine(lines, label), "[tlp] %s: empty audience", label))
		}
		cfg.TLP[l] = slices.Clone(names)
	}
	if err := errs.Err(); err != nil {
		return nil, warns, err
	}
	return cfg, warns, nil
}

var tomlKeyLine = regexp.MustCompile(`^\s*"?([A-Za-z0-9_+.-]+)"?\s*=`)

// Line returns the line of conclave.toml on which key was set, or 0. Keys
// match without regard to case, as they do when the file is decoded.
func (c *Config) Line(key string) int { return keyLine(c.lines, key) }

// LinkableSetting is where the site refuses linkable keys, for messages:
// "conclave.toml:7 sets [seal] linkable = false".
func (c *Config) LinkableSetting() string {
	line := cmp.Or(c.Line("linkable"), c.Line("seal.linkable"), c.Line("seal"), 1)
	return fmt.Sprintf("%s:%d sets [seal] linkable = false", ConfigFile, line)
}

func keyLine(lines map[string]int, key string) int { return lines[strings.ToLower(key)] }

// tomlKeyLines maps each bare key at the start of a line to its line number,
// for messages about decoded values (BurntSushi/toml keeps no positions for
// them). The first occurrence wins.
func tomlKeyLines(data []byte) map[string]int {
	lines := map[string]int{}
	for i, l := range strings.Split(string(data), "\n") {
		if m := tomlKeyLine.FindStringSubmatch(l); m != nil {
			if key := strings.ToLower(m[1]); lines[key] == 0 {
				lines[key] = i + 1
			}
		}
	}
	return lines
}

// tomlError turns a TOML parse error into a located error. offset is the
// number of lines before the TOML text in the file.
func tomlError(file string, offset int, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if msg == "" {
			msg = pe.Error()
		}
		return &diag.Error{File: file, Line: offset + pe.Position.Line, Col: pe.Position.Col, Msg: "TOML: " + msg, Err: err}
	}
	return &diag.Error{File: file, Line: offset + 1, Msg: "TOML: " + err.Error(), Err: err}
}
