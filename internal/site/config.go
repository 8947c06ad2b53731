package site

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
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

	// Deploy lists the [[deploy.targets]] conclave deploy publishes to, in
	// the order of the file.
	Deploy []DeployTarget
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
	Deploy struct {
		Targets []rawDeployTarget `toml:"targets"`
	} `toml:"deploy"`
}

type rawDeployTarget struct {
	Name           string `toml:"name"`
	URL            string `toml:"url"`
	Key            string `toml:"key"`
	Identity       string `toml:"identity"`
	IdentityRegexp string `toml:"identityRegexp"`
	Issuer         string `toml:"issuer"`
	IssuerRegexp   string `toml:"issuerRegexp"`
	TrustedRoot    string `toml:"trustedRoot"`
	Unsigned       bool   `toml:"unsigned"`
}

var configKeys = []string{"title", "baseURL", "language", "description", "copyright", "theme", "tlp", "markup", "markup.highlightStyle", "markup.highlightStyleDark", "seal", "seal.postQuantum", "seal.linkable", "search", "search.enabled",
	"deploy", "deploy.targets", "deploy.targets.name", "deploy.targets.url", "deploy.targets.key", "deploy.targets.identity", "deploy.targets.identityRegexp",
	"deploy.targets.issuer", "deploy.targets.issuerRegexp", "deploy.targets.trustedRoot", "deploy.targets.unsigned"}

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
	targetLines := deployTargetLines(data)
	var warns []*diag.Warning
	for _, k := range md.Undecoded() {
		key := k.String()
		if strings.HasPrefix(key, "tlp.") {
			continue // decoded as a map; checked below
		}
		at := []int{keyLine(lines, k[len(k)-1])}
		if len(k) == 3 && k[0] == "deploy" && k[1] == "targets" {
			// Every target that sets it.
			at = at[:0]
			for _, t := range targetLines {
				if n := t.keys[strings.ToLower(k[2])]; n > 0 {
					at = append(at, n)
				}
			}
			if len(at) == 0 {
				at = append(at, keyLine(lines, k[2]))
			}
		}
		for _, line := range at {
			w := diag.Errorf(file, line, "unknown key %q", key)
			if s := diag.Suggest(key, configKeys); s != "" {
				w.Msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			warns = append(warns, w)
		}
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
	cfg.Deploy = parseDeployTargets(raw.Deploy.Targets, targetLines, lines, &errs)
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

// DeployTarget is one [[deploy.targets]] of conclave.toml: where conclave
// deploy publishes the site, and whose signature the site must carry there.
//
//	[[deploy.targets]]
//	name = "prod"
//	url = "s3://briefings-example-org?region=eu-west-1"
//	key = "keys/signing.pub"
//
// The URL is a gocloud.dev/blob bucket URL (s3://, gs://, azblob://,
// file://); it never holds credentials, which come from the environment
// as each cloud's SDK expects.
type DeployTarget struct {
	Name string
	URL  string
	// The signer the site must carry, as conclave verify's flags name it:
	// Key, a public key file, or Identity (or IdentityRegexp) and Issuer
	// (or IssuerRegexp) for a keyless signature, checked against
	// TrustedRoot (default: the public deployment's). Paths are as
	// written, relative to the site's folder. All empty: the command
	// line must name the signer.
	Key, Identity, IdentityRegexp, Issuer, IssuerRegexp, TrustedRoot string
	// Unsigned lets conclave deploy --allow-unsigned publish a site that
	// has no signature to this target (a preview or staging bucket).
	// Without it, an unsigned site is refused, flag or not.
	Unsigned bool
	// Line is the line of conclave.toml the target starts on.
	Line int
}

// HasSigner reports whether the target names a signer.
func (t *DeployTarget) HasSigner() bool {
	return t.Key != "" || t.Identity != "" || t.IdentityRegexp != "" || t.Issuer != "" || t.IssuerRegexp != "" || t.TrustedRoot != ""
}

// DeployTargetNamed returns the deploy target called name or, when name is
// "", the only target of the site.
func (c *Config) DeployTargetNamed(name string) (*DeployTarget, error) {
	names := make([]string, len(c.Deploy))
	for i := range c.Deploy {
		names[i] = c.Deploy[i].Name
		if c.Deploy[i].Name == name {
			return &c.Deploy[i], nil
		}
	}
	switch {
	case len(c.Deploy) == 0:
		return nil, fmt.Errorf("%s has no [[deploy.targets]]: add one with a name and the url of a bucket", ConfigFile)
	case name == "" && len(c.Deploy) == 1:
		return &c.Deploy[0], nil
	case name == "":
		return nil, fmt.Errorf("%s has %d deploy targets (%s): name the one to deploy to", ConfigFile, len(names), strings.Join(names, ", "))
	}
	msg := fmt.Sprintf("%s has no deploy target named %q", ConfigFile, name)
	if s := diag.Suggest(name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += fmt.Sprintf(" (it has %s)", strings.Join(names, ", "))
	}
	return nil, errors.New(msg)
}

// DeploySchemes are the URL schemes of the buckets conclave deploy
// publishes to.
var DeploySchemes = []string{"s3", "gs", "azblob", "file"}

// targetLines are the lines of one [[deploy.targets]] table: its header,
// and each key set in it (lower-case).
type targetLines struct {
	header int
	keys   map[string]int
}

var (
	targetHeader = regexp.MustCompile(`^\s*\[\[\s*"?deploy"?\s*\.\s*"?targets"?\s*\]\]`)
	tableHeader  = regexp.MustCompile(`^\s*\[`)
)

// deployTargetLines finds the [[deploy.targets]] tables of conclave.toml
// and the lines of their keys, in order: several targets set the same
// keys, which [tomlKeyLines] would give the first line of.
func deployTargetLines(data []byte) []targetLines {
	var out []targetLines
	in := false
	for i, l := range strings.Split(string(data), "\n") {
		switch {
		case targetHeader.MatchString(l):
			out = append(out, targetLines{header: i + 1, keys: map[string]int{}})
			in = true
		case tableHeader.MatchString(l):
			in = false
		case in:
			if m := tomlKeyLine.FindStringSubmatch(l); m != nil {
				if key := strings.ToLower(m[1]); out[len(out)-1].keys[key] == 0 {
					out[len(out)-1].keys[key] = i + 1
				}
			}
		}
	}
	return out
}

// parseDeployTargets checks the [[deploy.targets]] of conclave.toml,
// adding a located error to errs for each problem.
func parseDeployTargets(raws []rawDeployTarget, blocks []targetLines, lines map[string]int, errs *diag.List) []DeployTarget {
	const file = ConfigFile
	var out []DeployTarget
	first := map[string]int{}
	for i, r := range raws {
		// The line of key in target i; targets written inline (deploy.targets
		// = [{…}]) have the line of "targets".
		at := func(key string) int {
			if len(blocks) == len(raws) {
				if n := blocks[i].keys[strings.ToLower(key)]; n > 0 && key != "" {
					return n
				}
				return blocks[i].header
			}
			return cmp.Or(keyLine(lines, "targets"), keyLine(lines, "deploy"), 1)
		}
		t := DeployTarget{
			Name: r.Name, URL: r.URL, Key: r.Key, Identity: r.Identity, IdentityRegexp: r.IdentityRegexp,
			Issuer: r.Issuer, IssuerRegexp: r.IssuerRegexp, TrustedRoot: r.TrustedRoot, Unsigned: r.Unsigned, Line: at(""),
		}
		what := fmt.Sprintf("deploy target %q", t.Name)
		switch {
		case t.Name == "":
			errs.Add(diag.Errorf(file, at(""), "[[deploy.targets]] without a name: give each target a name (name = \"prod\"), which conclave deploy NAME picks"))
			what = "[[deploy.targets]]"
		case !NamePattern.MatchString(t.Name):
			errs.Add(diag.Errorf(file, at("name"), "deploy target name %q: want lower-case letters, digits, '.', '_' or '-'", t.Name))
		case first[t.Name] > 0:
			errs.Add(diag.Errorf(file, at("name"), "deploy target %q is named twice (first on line %d)", t.Name, first[t.Name]))
		default:
			first[t.Name] = at("name")
		}
		if t.URL == "" {
			errs.Add(diag.Errorf(file, at(""), "%s has no url: give the bucket's, e.g. url = \"s3://briefings-example-org?region=eu-west-1\"", what))
		} else if err := CheckDeployURL(t.URL); err != nil {
			errs.Add(diag.Errorf(file, at("url"), "%s: url: %v", what, err))
		}
		if err := t.checkSigner(); err != nil {
			key := "identity"
			if t.Key != "" {
				key = "key"
			}
			errs.Add(diag.Errorf(file, at(key), "%s: %v", what, err))
		}
		out = append(out, t)
	}
	return out
}

// checkSigner reports a target's signer that names two kinds, or half of
// an identity, as conclave verify's flags would.
func (t *DeployTarget) checkSigner() error {
	identity := t.Identity != "" || t.IdentityRegexp != ""
	issuer := t.Issuer != "" || t.IssuerRegexp != ""
	switch {
	case t.Key != "" && (identity || issuer || t.TrustedRoot != ""):
		return errors.New("give either a key or a keyless identity (identity, issuer, trustedRoot), not both")
	case t.Identity != "" && t.IdentityRegexp != "", t.Issuer != "" && t.IssuerRegexp != "":
		return errors.New("give an identity or issuer either exactly or as a regular expression (identityRegexp, issuerRegexp), not both")
	case identity && !issuer:
		return errors.New("an identity needs its OIDC issuer (issuer or issuerRegexp)")
	case issuer && !identity:
		return errors.New("an OIDC issuer needs the identity it issued (identity or identityRegexp)")
	case t.TrustedRoot != "" && !identity:
		return errors.New("trustedRoot is for keyless signatures: give identity and issuer too")
	}
	for _, re := range []string{t.IdentityRegexp, t.IssuerRegexp} {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("regular expression %q: %v", re, err)
		}
	}
	return nil
}

// awsKeyID is what an AWS access key ID looks like.
var awsKeyID = regexp.MustCompile(`\b(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b`)

// CheckDeployURL checks the bucket URL of a deploy target: a scheme of
// [DeploySchemes], a bucket (or, for file://, a folder), and no
// credentials: no user or password, no query parameter that carries a
// secret (a key, token, password, signature, SAS), no AWS access key ID.
// Credentials belong in the environment, where each cloud's SDK reads
// them, never in a file that is committed.
func CheckDeployURL(raw string) error {
	if awsKeyID.MatchString(raw) {
		return errors.New("holds what looks like an AWS access key ID: credentials never go in conclave.toml; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile) in the environment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", unwrapURLError(err))
	}
	if u.User != nil {
		return errors.New("holds credentials (user:password@): credentials never go in conclave.toml; give them in the environment, as the cloud's SDK expects")
	}
	if !slices.Contains(DeploySchemes, u.Scheme) {
		return fmt.Errorf("%q: want a bucket URL: s3://BUCKET, gs://BUCKET, azblob://CONTAINER or file:///FOLDER", raw)
	}
	if u.Opaque != "" || u.Fragment != "" || u.RawFragment != "" {
		return fmt.Errorf("%q: want %s://BUCKET?PARAMETERS, without a fragment", raw, u.Scheme)
	}
	if u.Scheme != "file" && u.Host == "" {
		return fmt.Errorf("%q names no bucket: want %s://BUCKET", raw, u.Scheme)
	}
	if u.Scheme == "file" && (u.Path == "" || u.Path == "/") {
		return fmt.Errorf("%q names no folder: want file:///ABSOLUTE/FOLDER or file://./RELATIVE/FOLDER", raw)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("query: %v", err)
	}
	names := slices.Sorted(maps.Keys(q))
	for _, name := range names {
		if secretParam(name) {
			return fmt.Errorf("parameter %q carries a credential: credentials never go in conclave.toml; give them in the environment, as the cloud's SDK expects", name)
		}
		if strings.EqualFold(name, "key") {
			return errors.New("parameter \"key\" makes a bucket of one object: a site is published to a bucket, or to a folder of one with prefix=FOLDER/")
		}
	}
	return nil
}

// secretParam reports whether a bucket URL's query parameter name is one
// that carries a secret. A parameter naming a file (…_file, …_path) does
// not: the secret stays in that file.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_file") || strings.HasSuffix(n, "_path") {
		return false
	}
	if n == "sig" || n == "password" || n == "secret" {
		return true
	}
	for _, s := range []string{"secret", "passw", "token", "credential", "signature", "sas", "access_key", "accesskey", "account_key", "accountkey", "session", "connection", "auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// unwrapURLError drops what a *url.Error repeats: the operation and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
