package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/sign/sigstoretest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"conclave": func() {
			// Scripts answer passphrase prompts through this variable,
			// read here, in test code only; each prompt is logged to
			// stderr, so that a script can check it was (or was not) asked.
			if pass, ok := os.LookupEnv("CONCLAVE_TEST_PASSPHRASE"); ok {
				testOnlyPassphrase = func(prompt string) ([]byte, error) {
					fmt.Fprintf(os.Stderr, "test: prompt: %s\n", prompt)
					return []byte(pass), nil
				}
			}
			os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the end-to-end tests in testdata/script: each file is a
// small site and the conclave commands run on it. Besides testscript's own
// commands, scripts may use:
//
//	exitcode N PROG [ARGS...]  run PROG and check that it exits with code N
//	writebytes FILE TEXT       write TEXT, a Go string literal body, to FILE
//	cptree SRC DST             copy the folder SRC to DST
//	cmptree A B                check that folders A and B hold the same files
//	ls DIR                     print DIR's entries, hidden ones included
//	sshkey FILE [PASSPHRASE]   make an ssh-ed25519 key pair: FILE and FILE.pub
//	packet PAGE N VAR          set $VAR to the packet path of PAGE's Nth
//	                           sealed placeholder (from 0), e.g. packets/….age
//	serve [-tls] DIR VAR       serve DIR's files (read as they are asked for)
//	                           on 127.0.0.1 and set $VAR to its URL; -tls
//	                           serves HTTPS, with the server's certificate in
//	                           $WORK/serve-cert.pem (for SSL_CERT_FILE)
//	served                     print the paths asked of the server since the
//	                           last served, sorted, one per line
//
// and the environment variable CONCLAVE_TEST_PASSPHRASE, which answers
// conclave's passphrase prompts (each prompt is logged to stderr as
// "test: prompt: …").
//
// and the condition [tool:NAME], true if the program NAME is installed. A
// missing program fails the script instead when CONCLAVE_REQUIRE_TOOLS=1.
//
// For keyless signing, an offline Sigstore deployment runs beside the
// scripts: $TEST_FULCIO_URL, $TEST_REKOR_URL and $TEST_TSA_URL name its
// services, $WORK/trusted_root.json is its trusted root, and
// $TEST_GITHUB_TOKEN_URL with $TEST_GITHUB_REQUEST_TOKEN play GitHub
// Actions' token service (for ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN),
// which issues tokens for the workflow
// acme/briefings/.github/workflows/publish.yml@refs/heads/main;
// $WORK/email-token holds a token for psirt@example.org from
// https://accounts.example.org.
func TestScripts(t *testing.T) {
	sigstore := sigstoretest.Start(t)
	const requestToken = "request-token-for-tests"
	github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer "+requestToken || r.URL.Query().Get("audience") != "sigstore" {
			http.Error(w, "bad token request", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"value":%q}`, sigstore.GitHubToken("acme/briefings", "publish.yml", "refs/heads/main"))
	}))
	t.Cleanup(github.Close)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("TEST_FULCIO_URL", sigstore.FulcioURL)
			env.Setenv("TEST_REKOR_URL", sigstore.RekorURL)
			env.Setenv("TEST_TSA_URL", sigstore.TSAURL)
			env.Setenv("TEST_GITHUB_TOKEN_URL", github.URL+"/token?api-version=2.0")
			env.Setenv("TEST_GITHUB_REQUEST_TOKEN", requestToken)
			if err := os.WriteFile(filepath.Join(env.WorkDir, "trusted_root.json"), sigstore.TrustedRoot, 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(env.WorkDir, "email-token"), []byte(sigstore.EmailToken("https://accounts.example.org", "psirt@example.org")), 0o600)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":   cmdExitcode,
			"writebytes": cmdWritebytes,
			"cptree":     cmdCptree,
			"cmptree":    cmdCmptree,
			"ls":         cmdLs,
			"sshkey":     cmdSSHKey,
			"packet":     cmdPacket,
			"serve":      cmdServe,
			"served":     cmdServed,
		},
		Condition: func(cond string) (bool, error) {
			name, ok := strings.CutPrefix(cond, "tool:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := exec.LookPath(name); err != nil {
				if testtool.Required() {
					return false, fmt.Errorf("%s is not installed and CONCLAVE_REQUIRE_TOOLS=1", name)
				}
				return false, nil
			}
			return true, nil
		},
	})
}

func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with code %d, want %d", args[1], got, want)
	}
}

func cmdWritebytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writebytes FILE TEXT")
	}
	data, err := strconv.Unquote(`"` + args[1] + `"`)
	if err != nil {
		ts.Fatalf("writebytes: TEXT is not the body of a Go string literal: %v", err)
	}
	p := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, []byte(data), 0o644))
}

func cmdCptree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cptree SRC DST")
	}
	ts.Check(os.CopyFS(ts.MkAbs(args[1]), os.DirFS(ts.MkAbs(args[0]))))
}

func cmdCmptree(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cmptree A B")
	}
	a, b := readTree(ts, args[0]), readTree(ts, args[1])
	var diffs []string
	for p, data := range a {
		other, ok := b[p]
		switch {
		case !ok:
			diffs = append(diffs, p+": only in "+args[0])
		case !bytes.Equal(data, other):
			diffs = append(diffs, p+": differs")
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, p+": only in "+args[1])
		}
	}
	slices.Sort(diffs)
	switch {
	case neg && len(diffs) == 0:
		ts.Fatalf("%s and %s are identical", args[0], args[1])
	case !neg && len(diffs) > 0:
		ts.Fatalf("%s and %s differ:\n%s", args[0], args[1], strings.Join(diffs, "\n"))
	}
}

// readTree maps the slash path of every file under dir to its contents.
func readTree(ts *testscript.TestScript, dir string) map[string][]byte {
	files, err := testtool.ReadTree(ts.MkAbs(dir))
	ts.Check(err)
	return files
}

func cmdLs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: ls DIR")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, e := range entries {
		fmt.Fprintln(ts.Stdout(), e.Name())
	}
}

func cmdSSHKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: sshkey FILE [PASSPHRASE]")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	ts.Check(err)
	var block *pem.Block
	if len(args) == 2 {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(args[1]))
	} else {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	}
	ts.Check(err)
	sshPub, err := ssh.NewPublicKey(pub)
	ts.Check(err)
	file := ts.MkAbs(args[0])
	ts.Check(os.WriteFile(file, pem.EncodeToMemory(block), 0o600))
	ts.Check(os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644))
}

var packetAttr = regexp.MustCompile(`<section class="sealed[^>]* data-packet="([^"]*)"`)

func cmdPacket(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: packet PAGE N VAR")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	page, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	all := packetAttr.FindAllSubmatch(page, -1)
	if n < 0 || n >= len(all) {
		ts.Fatalf("%s has %d sealed placeholders, not %d", args[0], len(all), n+1)
	}
	ts.Setenv(args[2], string(all[n][1]))
}

// siteServer is a folder served to a script by serve, and what it was
// asked for.
type siteServer struct {
	dir   string
	mu    sync.Mutex
	asked []string
}

// servers are the scripts' servers, one per script at most.
var servers sync.Map // *testscript.TestScript → *siteServer

func (s *siteServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	s.asked = append(s.asked, p)
	s.mu.Unlock()
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(p)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	tls := len(args) > 0 && args[0] == "-tls"
	if tls {
		args = args[1:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: serve [-tls] DIR VAR")
	}
	s := &siteServer{dir: ts.MkAbs(args[0])}
	if _, loaded := servers.LoadOrStore(ts, s); loaded {
		ts.Fatalf("serve: one server per script")
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.StartTLS()
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		ts.Check(os.WriteFile(ts.MkAbs("serve-cert.pem"), cert, 0o644))
	} else {
		srv.Start()
	}
	ts.Defer(func() {
		srv.Close()
		servers.Delete(ts)
	})
	ts.Setenv(args[1], srv.URL+"/")
}

func cmdServed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: served")
	}
	v, ok := servers.Load(ts)
	if !ok {
		ts.Fatalf("served: no server (serve DIR VAR starts one)")
	}
	s := v.(*siteServer)
	s.mu.Lock()
	asked := slices.Sorted(slices.Values(s.asked))
	s.asked = nil
	s.mu.Unlock()
	for _, p := range asked {
		fmt.Fprintln(ts.Stdout(), p)
	}
}
