package site

import (
	"errors"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
)

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"title = \"T\"\nbaseURL = \"https://example.org/sub\"\n",
		"title = \"T\"\ntheme = \"custom\"\n[markup]\nhighlightStyle = \"monokai\"\n",
		"title = \"T\"\n[tlp]\namber = [\"a\", \"b\"]\n",
		"title = \"T\"\ntitel = \"x\"\n", "title = \n", "title = \"T\"\nbaseURL = \"ftp://x\"\n",
		"[[x]]\n", "title = 'T'\r\nlanguage = 'fr'\r\n", "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, warns, err := ParseConfig(data)
		if err != nil {
			// Every problem names the file, and a line when one is known.
			var list diag.List
			var one *diag.Error
			if !errors.As(err, &list) && !errors.As(err, &one) {
				t.Fatalf("error is not located: %T %v", err, err)
			}
			if !strings.HasPrefix(err.Error(), ConfigFile) {
				t.Fatalf("error does not name %s: %v", ConfigFile, err)
			}
			return
		}
		for _, w := range warns {
			if !strings.HasPrefix(w.Error(), ConfigFile+":") {
				t.Fatalf("warning without location: %v", w)
			}
		}
		if cfg.Title == "" || cfg.Theme == "" || !themePattern.MatchString(cfg.Theme) {
			t.Fatalf("accepted config with title %q, theme %q", cfg.Title, cfg.Theme)
		}
		if cfg.BaseURL != "" && !strings.HasSuffix(cfg.BaseURL, "/") {
			t.Fatalf("baseURL %q does not end in /", cfg.BaseURL)
		}
	})
}
