package seal

import (
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/site"
)

// A site with [seal] linkable = false refuses every SSH key in keys/,
// whether or not a passage names its recipient, with a located error
// that says why and what to do, beside the other problems of the plan.
// By default SSH keys are allowed.
func TestPlanRefusesLinkable(t *testing.T) {
	ps := people{"alice": fixturePeople(t)["alice"], "bob": fixturePeople(t)["bob"]}
	ps["sally"] = &person{name: "sally", keys: passphraseKeys(t, "# sally\n"+newSSHKey(t, 0).line+" sally@laptop\n", nil)}
	ps["rita"] = &person{name: "rita", keys: passphraseKeys(t, fixturePeople(t)["carol"].keys[0].Text+"\n"+newSSHKey(t, 2048).line+"\n", nil)}
	reg := registry(t, ps, "board = [\"alice\", \"sally\"]\n")
	pages := []*site.Page{page("content/a.md", "::: restricted to=board\nBoard.\n:::\n\n::: restricted to=nobody\nx\n:::\n")}
	cfg, _, err := site.ParseConfig([]byte("title = \"T\"\n\n[seal]\nlinkable = false\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPlan(parse(t, newConv(t), pages...), reg, cfg)
	got := strings.Split(err.Error(), "\n")
	want := []string{
		`content/a.md:9: unknown recipient or group "nobody"`,
		"keys/rita.pub:2: ssh-rsa key is linkable: age writes a 4-byte tag of an SSH public key in every file encrypted to it, so anyone who has this public key can tell which keyring is rita's, " +
			"and conclave.toml:4 sets [seal] linkable = false: give rita an age key instead (conclave keys gen rita --add, then delete this line), or allow linkable keys with linkable = true",
		"keys/sally.pub:2: ssh-ed25519 key is linkable: ",
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%v", err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
	// The site's default allows them: the plan holds, and sally's
	// keyring is sealed to her SSH key.
	cfg, _, err = site.ParseConfig([]byte("title = \"T\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlan(parse(t, newConv(t), pages[0]), reg, cfg); err == nil || strings.Contains(err.Error(), "linkable") {
		t.Errorf("default: %v", err)
	}
	pages[0] = page("content/a.md", "::: restricted to=board\nBoard.\n:::\n")
	if _, err := NewPlan(parse(t, newConv(t), pages[0]), reg, cfg); err != nil {
		t.Errorf("default: %v", err)
	}
	// Refused even where no page restricts anything.
	cfg.RefuseLinkable = true
	if _, err := NewPlan(nil, reg, cfg); err == nil || !strings.Contains(err.Error(), "keys/sally.pub:2: ") {
		t.Errorf("no restricted block: %v", err)
	}
}
