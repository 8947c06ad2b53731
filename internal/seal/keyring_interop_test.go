package seal

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// The padded keyrings are still what the age CLI opens: each reader's
// identity file (age X25519, OpenSSH Ed25519 and RSA private keys, and
// for a guest the passphrase typed on a terminal) opens exactly the one
// keyring meant for it with "age -d -i", which prints the keys of the
// reader's audiences. An age CLI older than 1.3 cannot open post-quantum
// keyrings: those are checked with age's Go package.
func TestKeyringsAgeCLI(t *testing.T) {
	ageCmd := testtool.Require(t, "age")
	ps, reg := mixed(t)
	b := sealBuild(t, reg, nil, mixedPages()...)
	tmp := t.TempDir()
	var rings []string
	for p, ct := range b.out.under(format.KeyringDir) {
		file := filepath.Join(tmp, filepath.Base(p))
		if err := os.WriteFile(file, ct, 0o644); err != nil {
			t.Fatal(err)
		}
		rings = append(rings, file)
	}
	slices.Sort(rings)
	want := map[string][]string{}
	for _, a := range b.plan.Audiences() {
		for _, m := range a.Members {
			want[m] = append(want[m], identityString(b.sealer.ids[a.ID]))
		}
	}
	cliPQ := ageReadsPostQuantum(t, ageCmd)

	for _, name := range slices.Sorted(maps.Keys(ps)) {
		p := ps[name]
		slices.Sort(want[name])
		for _, k := range p.keys {
			id := p.byLine[k.Line]
			if id == nil {
				continue // a tagged key: its identity is in hardware
			}
			t.Run(fmt.Sprintf("%s/%s", name, k.Type()), func(t *testing.T) {
				var (
					idFile string
					open   func(ring string) ([]byte, error)
				)
				switch {
				case p.ssh[k.Line] != nil:
					idFile = filepath.Join(tmp, fmt.Sprintf("%s-%d.key", name, k.Line))
					if err := os.WriteFile(idFile, p.ssh[k.Line], 0o600); err != nil {
						t.Fatal(err)
					}
				case k.PostQuantum && !cliPQ:
					open = func(ring string) ([]byte, error) { return decrypt(t, readFile(t, ring), id) }
				case k.Kind == audience.Passphrase:
					scriptCmd := testtool.Require(t, "script")
					pass := "guest passphrase, long enough"
					if name == "hybrid" {
						pass = "vendor passphrase, long enough"
					}
					open = func(ring string) ([]byte, error) {
						if !bytes.Contains(readFile(t, ring), []byte("\n-> scrypt ")) {
							return nil, fmt.Errorf("not a passphrase keyring")
						}
						return ageTTY(t, ageCmd, scriptCmd, ring, pass)
					}
				default:
					idFile = filepath.Join(tmp, fmt.Sprintf("%s-%d.txt", name, k.Line))
					if err := os.WriteFile(idFile, []byte(fmt.Sprint(id)+"\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if open == nil {
					open = func(ring string) ([]byte, error) {
						cmd := exec.Command(ageCmd, "-d", "-i", idFile, ring)
						var stderr bytes.Buffer
						cmd.Stderr = &stderr
						out, err := cmd.Output()
						// age says why; the expected refusals are a keyring
						// for another reader and a passphrase keyring.
						if err != nil && !strings.Contains(stderr.String(), "no identity matched any of the recipients") &&
							!strings.Contains(stderr.String(), "file is passphrase-encrypted") {
							t.Errorf("age -d -i %s %s: %v\n%s", filepath.Base(idFile), filepath.Base(ring), err, stderr.Bytes())
						}
						return out, err
					}
				}
				opened := 0
				for _, ring := range rings {
					plain, err := open(ring)
					if err != nil {
						continue
					}
					opened++
					if got := identityStrings(t, plain); !slices.Equal(got, want[name]) {
						t.Errorf("the keyring holds %d keys, want the %d of %s's audiences", len(got), len(want[name]), name)
					}
				}
				if opened != 1 {
					t.Errorf("%s's %s key opens %d keyrings, want 1", name, k.Type(), opened)
				}
			})
		}
	}
	if !cliPQ {
		t.Log("this age CLI predates post-quantum keys: post-quantum keyrings were opened with age's Go package")
	}
}

// ageTTY runs "age -d FILE" on a terminal that script(1) gives it, typing
// pass, and returns what it decrypted.
func ageTTY(t *testing.T, ageCmd, scriptCmd, file, pass string) ([]byte, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptCmd, "-qec", shellQuote(ageCmd)+" -d -o "+shellQuote(out)+" "+shellQuote(file), "/dev/null")
	cmd.Stdin = strings.NewReader(pass + "\n")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		if !strings.Contains(output.String(), "incorrect passphrase") {
			t.Logf("age -d %s: %v\n%s", filepath.Base(file), err, output.Bytes())
		}
		return nil, err
	}
	return os.ReadFile(out)
}

// ageReadsPostQuantum reports whether the age CLI is 1.3 or later.
func ageReadsPostQuantum(t *testing.T, ageCmd string) bool {
	t.Helper()
	out, err := exec.Command(ageCmd, "--version").Output()
	if err != nil {
		t.Fatalf("age --version: %v", err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 1 || major == 1 && minor >= 3
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
