package site

import (
	"strings"
	"testing"
)

// [seal] linkable = false refuses linkable keys; unset or true allows
// them. Messages name the line that says so.
func TestConfigLinkable(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		refuse     bool
		setting    string
	}{
		{"unset", "title = \"T\"\n", false, ""},
		{"seal without it", "title = \"T\"\n[seal]\npostQuantum = true\n", false, ""},
		{"true", "title = \"T\"\n[seal]\nlinkable = true\n", false, ""},
		{"false", "title = \"T\"\n\n[seal]\npostQuantum = true\nlinkable = false\n", true, "conclave.toml:5 sets [seal] linkable = false"},
		{"dotted", "title = \"T\"\nseal.linkable = false\n", true, "conclave.toml:2 sets [seal] linkable = false"},
		{"inline", "title = \"T\"\nseal = { linkable = false }\n", true, "conclave.toml:2 sets [seal] linkable = false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, warns, err := ParseConfig([]byte(tc.toml))
			if err != nil || len(warns) > 0 {
				t.Fatalf("ParseConfig: %v %v", err, warns)
			}
			if cfg.RefuseLinkable != tc.refuse {
				t.Errorf("RefuseLinkable = %t, want %t", cfg.RefuseLinkable, tc.refuse)
			}
			if tc.refuse && cfg.LinkableSetting() != tc.setting {
				t.Errorf("LinkableSetting() = %q, want %q", cfg.LinkableSetting(), tc.setting)
			}
		})
	}
	// Not a boolean: a located error.
	_, _, err := ParseConfig([]byte("title = \"T\"\n[seal]\nlinkable = \"no\"\n"))
	if err == nil || !strings.HasPrefix(err.Error(), ConfigFile+":") || !strings.Contains(err.Error(), "linkable") {
		t.Errorf("linkable = \"no\": %v", err)
	}
	// A misspelt key is a warning with a suggestion.
	_, warns, err := ParseConfig([]byte("title = \"T\"\n[seal]\nlinkabel = false\n"))
	if err != nil || len(warns) != 1 || warns[0].Error() != `conclave.toml:3: unknown key "seal.linkabel" (did you mean "seal.linkable"?)` {
		t.Errorf("misspelt: %v %v", err, warns)
	}
}
