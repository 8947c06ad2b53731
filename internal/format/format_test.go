package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/themes"
)

// repo is the repository's root, from this package's folder.
const repo = "../.."

// The committed themes/unlock/src/format.js is what JS writes: a constant
// changed here without go generate fails.
func TestJSFileIsGenerated(t *testing.T) {
	got, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(JSFile)))
	if err != nil {
		t.Fatal(err)
	}
	if want := JS(); !bytes.Equal(got, want) {
		t.Errorf("%s differs from what internal/format writes: run go generate ./internal/format, then rebuild the unlock script (npm --prefix themes/unlock run build)\ngot:\n%s\nwant:\n%s", JSFile, got, want)
	}
}

// Every constant of the package is exported to the unlock script, under
// its name in upper snake case.
func TestJSExportsEveryConstant(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.IsExported() {
						consts = append(consts, n.Name)
					}
				}
			}
		}
	}
	if len(consts) < 20 {
		t.Fatalf("found only %d constants: %v", len(consts), consts)
	}
	var names []string
	for _, e := range jsExports() {
		names = append(names, e.name)
	}
	for _, c := range consts {
		if c != "JSFile" && !slices.Contains(names, c) {
			t.Errorf("constant %s is not in jsExports: the unlock script cannot use it", c)
		}
	}
	js := string(JS())
	for _, e := range jsExports() {
		if !strings.Contains(js, "\nexport const "+upperSnake(e.name)+" = ") {
			t.Errorf("format.js does not export %s", upperSnake(e.name))
		}
	}
}

func TestUpperSnake(t *testing.T) {
	for in, want := range map[string]string{
		"PacketDir":           "PACKET_DIR",
		"KeyringIndexVersion": "KEYRING_INDEX_VERSION",
		"ClassTLPLabel":       "CLASS_TLP_LABEL",
		"AttrTLP":             "ATTR_TLP",
		"ClassNotForYou":      "CLASS_NOT_FOR_YOU",
		"DigestHex":           "DIGEST_HEX",
	} {
		if got := upperSnake(in); got != want {
			t.Errorf("upperSnake(%q) = %q, want %q", in, got, want)
		}
	}
}

// The patterns the unlock script checks paths with accept exactly what
// IsPacketPath and IsDigestFile accept, and capture the digest.
func TestPatterns(t *testing.T) {
	var packet, keyring *regexp.Regexp
	for _, e := range jsExports() {
		if src, ok := e.value.(jsRegExp); ok {
			re := regexp.MustCompile(string(src)) // RE2 reads \/ as /, like JavaScript
			switch e.name {
			case "PacketPathPattern":
				packet = re
			case "KeyringNamePattern":
				keyring = re
			}
		}
	}
	if packet == nil || keyring == nil {
		t.Fatal("no PacketPathPattern or KeyringNamePattern")
	}
	digest := DigestName([]byte("x"))
	for _, p := range []string{
		PacketPath(digest),
		"packets/" + strings.Repeat("0", 32) + ".age",
		"packets/" + strings.Repeat("0", 31) + ".age",
		"packets/" + strings.Repeat("0", 33) + ".age",
		"packets/" + strings.ToUpper(digest) + ".age",
		"packets/" + strings.Repeat("g", 32) + ".age",
		"packets/keyrings/" + digest + ".age",
		"packets/" + digest + ".age\n",
		"packets/" + digest + ".ag",
		"/packets/" + digest + ".age",
		"./packets/" + digest + ".age",
		"packets//" + digest + ".age",
		"Packets/" + digest + ".age",
		digest + ".age",
		"javascript:alert(1)",
		"",
	} {
		want := IsPacketPath(p)
		if got := packet.MatchString(p); got != want {
			t.Errorf("%q: pattern %v, IsPacketPath %v", p, got, want)
		}
		if m := packet.FindStringSubmatch(p); m != nil && m[1] != strings.TrimSuffix(strings.TrimPrefix(p, "packets/"), ".age") {
			t.Errorf("%q: pattern captures %q", p, m[1])
		}
		name := strings.TrimPrefix(p, "packets/")
		if got, want := keyring.MatchString(name), IsDigestFile(name); got != want {
			t.Errorf("%q: keyring pattern %v, IsDigestFile %v", name, got, want)
		}
	}
	if !IsPacketPath(PacketPath(digest)) || IsPacketPath("packets/"+strings.ToUpper(digest)+".age") {
		t.Error("IsPacketPath does not accept exactly lowercase digests")
	}
}

// Names are the first 16 bytes of the SHA-256, in hex: what the unlock
// script and conclave open check a file's bytes against.
func TestDigestName(t *testing.T) {
	data := []byte("age-encryption.org/v1\n")
	sum := sha256.Sum256(data)
	if got, want := DigestName(data), hex.EncodeToString(sum[:])[:32]; got != want {
		t.Errorf("DigestName = %s, want %s", got, want)
	}
	if p := PacketPath(DigestName(data)); p != "packets/"+hex.EncodeToString(sum[:16])+".age" {
		t.Errorf("PacketPath = %s", p)
	}
}

func TestScriptToRoot(t *testing.T) {
	if got := ScriptToRoot(); got != "../" {
		t.Errorf("ScriptToRoot() = %q for %s", got, UnlockScript)
	}
}

// The placeholder markup's pieces make up the markup the documentation
// shows.
func TestPlaceholder(t *testing.T) {
	if PlaceholderStart != `<section class="sealed` || PlaceholderEnd != "</section>" || PlaceholderSelector != "section.sealed[data-packet]" {
		t.Errorf("placeholder: %q … %q, selector %q", PlaceholderStart, PlaceholderEnd, PlaceholderSelector)
	}
}

// The index is written as encoding/json writes it.
func TestKeyringsMarshal(t *testing.T) {
	for _, x := range []Keyrings{
		{Version: KeyringIndexVersion, Keyrings: []Keyring{}},
		{Version: KeyringIndexVersion, Keyrings: []Keyring{{Name: "0123abcd.age", Data: []byte("age-encryption.org/v1\n\x00\xff")}}},
		{Version: KeyringIndexVersion, Keyrings: []Keyring{{Name: "a.age", Passphrase: true, Data: bytes.Repeat([]byte{0xfb}, 4097)}, {Name: "b.age", Data: []byte("x")}}},
	} {
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		got := x.Marshal()
		if !bytes.Equal(got, want) {
			t.Errorf("Marshal:\n%s\nwant\n%s", got, want)
		}
		if cap(got) != len(got) {
			t.Errorf("Marshal: %d bytes in a buffer of %d", len(got), cap(got))
		}
	}
}

// The committed unlock bundle holds the values the script imports: a
// format.js regenerated without rebuilding the bundle fails here (CI's
// npm run check compares the whole bundle with its sources).
func TestBundleHoldsContract(t *testing.T) {
	bundle, err := fs.ReadFile(themes.Default, "static/"+UnlockScript)
	if err != nil {
		t.Fatal(err)
	}
	var pattern string
	for _, e := range jsExports() {
		if e.name == "PacketPathPattern" {
			pattern = "/" + string(e.value.(jsRegExp)) + "/"
		}
	}
	for _, want := range []string{strconv.Quote(KeyringIndex), strconv.Quote(PlaceholderSelector), pattern, strconv.Quote(ScriptToRoot())} {
		if !bytes.Contains(bundle, []byte(want)) {
			t.Errorf("the unlock bundle does not hold %s: rebuild it (npm --prefix themes/unlock run build)", want)
		}
	}
}

// The theme's stylesheet styles the placeholder and what readers make of
// it.
func TestThemeStylesPlaceholder(t *testing.T) {
	css, err := fs.ReadFile(themes.Default, "static/css/conclave.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{ClassSealed, ClassSealedLabel, ClassSealedHelp, ClassSealedHeader, ClassTLPLabel, ClassUnsealed, ClassUnsealedLabel, ClassNotForYou, ClassTampered} {
		if !regexp.MustCompile(`\.` + regexp.QuoteMeta(class) + `[\s,.:{\[]`).Match(css) {
			t.Errorf("the theme's CSS has no rule for .%s", class)
		}
	}
}
