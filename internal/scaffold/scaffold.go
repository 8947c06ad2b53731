// Package scaffold writes new sites and new briefings.
package scaffold

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/site"
)

// Site writes a new working site into dir, which must not exist or be
// empty. It returns the files written, relative to dir.
func Site(dir, title string) ([]string, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s already exists and is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if title == "" {
		title = "Briefings"
	}
	files := []struct{ path, body string }{
		{site.ConfigFile, fmt.Sprintf(configTemplate, strconv.Quote(title))},
		{".gitignore", "# Build output and the local sealing cache are never committed.\n/public/\n/.conclave/\n"},
		{"content/_index.md", fmt.Sprintf("---\ntitle: %s\n---\n\nBriefings for the members of this circle. Each page carries a TLP label that says how far it may travel.\n", strconv.Quote(title))},
		{"content/briefings/_index.md", "---\ntitle: Briefings\n---\n"},
		{"content/briefings/welcome.md", fmt.Sprintf(welcomeTemplate, time.Now().UTC().Format("2006-01-02"))},
		{"keys/README.md", keysReadme},
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			return written, err
		}
		written = append(written, f.path)
	}
	return written, nil
}

const configTemplate = `# conclave site configuration.
title = %s
baseURL = "https://briefings.example.org/"
language = "en"
description = "Briefings for a trusted circle."
# theme = "default"        # the built-in theme; a folder themes/NAME/ overrides it file by file

# Default audiences for restricted blocks that name no recipients, by TLP label.
# [tlp]
# amber = ["members"]

[markup]
highlightStyle = "github"
`

const welcomeTemplate = `---
title: "Welcome to your briefing site"
date: %s
summary: "What goes where, and how to publish the first briefing."
tags: [getting-started]
tlp: clear
---

Each briefing is a markdown file under ` + "`content/`" + `. Front matter at the top gives its
title, date, tags and TLP label.

## Writing

- Create a briefing with ` + "`conclave new briefing \"Title\"`" + `.
- Link to another briefing by its file, for example [this page](welcome.md).
- Preview with ` + "`conclave serve`" + ` and publish the ` + "`public/`" + ` folder that
  ` + "`conclave build`" + ` writes.

## Restricting a passage

Add each recipient's public key as ` + "`keys/NAME.pub`" + ` (` + "`conclave keys gen NAME`" + ` makes a pair),
then mark the passage:

` + "```markdown" + `
::: restricted to=alice,board tlp=amber
Only alice and the board can read this.
:::
` + "```" + `

The build seals it with age: the published page shows a placeholder, and only the
recipients can read the passage, with ` + "`conclave open`" + ` or the ` + "`age`" + ` command.
` + "`conclave audit`" + ` lists who can read what.
`

const keysReadme = `# Recipients' public keys

One file per recipient, keys/NAME.pub, holding that recipient's public keys, one per line
(age1…, age1pq1…, ssh-ed25519 …, ssh-rsa …, age plugin recipients; # comments allowed).
Only public keys belong here: never a secret key. keys/groups.toml names groups:

    board = ["alice", "bob"]
    members = ["board", "carol"]

Make a key pair for a new recipient with: conclave keys gen NAME
List recipients and groups with:          conclave keys list
`

// Briefing writes content/<section>/<slug>.md under the site root with the
// given title, marked as a draft. The slug is the title's, shortened to
// [MaxSlug] bytes; the front matter keeps the whole title. It refuses to
// overwrite a file.
func Briefing(root, section, title string, now time.Time) (string, error) {
	slug := shortSlug(site.Slugify(title))
	if slug == "" {
		return "", fmt.Errorf("title %q has no letters or digits to make a file name from", title)
	}
	if section == "" || strings.ContainsAny(section, `/\`) || strings.HasPrefix(section, ".") {
		return "", fmt.Errorf("section %q must be a single folder name", section)
	}
	if _, err := os.Stat(filepath.Join(root, site.ConfigFile)); err != nil {
		return "", fmt.Errorf("%s not found in %s: run this inside a site (or pass --source)", site.ConfigFile, root)
	}
	rel := filepath.Join(site.ContentDir, section, slug+".md")
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	body := fmt.Sprintf("---\ntitle: %s\ndate: %s\nsummary: \"\"\ntags: []\ntlp: green\ndraft: true\n---\n\n## Summary\n\n## Timeline\n\n| Date | Event |\n| --- | --- |\n| %s | |\n\n## Recommended actions\n\n- [ ] \n",
		strconv.Quote(title), now.UTC().Format("2006-01-02"), now.UTC().Format("2006-01-02"))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("%s already exists", rel)
		}
		return "", err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return "", err
	}
	return rel, f.Close()
}

// MaxSlug is the most bytes of a title that a new briefing's file name
// keeps: well within the 255-byte limit of common file systems.
const MaxSlug = 80

// shortSlug cuts a slug made by [site.Slugify] to at most [MaxSlug] bytes:
// after the last whole word that fits, unless that would drop more than
// half of it, and otherwise at a character boundary. It never ends in a
// hyphen.
func shortSlug(slug string) string {
	if len(slug) <= MaxSlug {
		return slug
	}
	n := strings.LastIndexByte(slug[:MaxSlug+1], '-')
	if n < MaxSlug/2 {
		n = MaxSlug
		for n > 0 && !utf8.RuneStart(slug[n]) {
			n--
		}
	}
	return strings.TrimRight(slug[:n], "-")
}
