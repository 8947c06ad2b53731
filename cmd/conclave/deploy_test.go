package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/conclave-dev/conclave/internal/deploy/deploytest"
)

// conclave deploy to an S3 server (versitygw): a site built and signed
// with a key is published, and the bucket's folder verifies; a second
// deploy uploads nothing. The testscript deploy_file.txtar covers the
// rest of the command with file:// targets.
func TestDeployS3(t *testing.T) {
	srv := deploytest.StartS3(t, "briefings")
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "home", ".config"))
	t.Setenv("CONCLAVE_PASSWORD", "release-pw")
	t.Setenv("SOURCE_DATE_EPOCH", "1796500000")
	config := fmt.Sprintf("title = \"T\"\n\n[[deploy.targets]]\nname = \"prod\"\nurl = %q\nkey = \"secrets/site.pub\"\n", srv.URL("briefings"))
	files := map[string]string{
		"conclave.toml":          config,
		"content/briefings/x.md": "---\ntitle: X\ndate: 2026-01-02\n---\nPublic.\n\n::: restricted to=alice tlp=amber\nALICE-ONLY.\n:::\n",
	}
	for name, text := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conclave := func(want int, args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if got := run(args, &stdout, &stderr); got != want {
			t.Fatalf("conclave %v: exit %d, want %d\n%s%s", args, got, want, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	os.Mkdir("secrets", 0o700)
	conclave(0, "keys", "signing", "secrets/site")
	conclave(0, "keys", "gen", "alice", "-o", "alice.txt")
	conclave(0, "build")
	conclave(0, "sign", "--key", "secrets/site.key")

	out, _ := conclave(0, "deploy")
	for _, want := range []string{
		`(?m)^conclave: deployed public to prod \(s3://briefings\?endpoint=.*\): (\d+) files listed in SHA256SUMS$`,
		`(?m)^  signer    key SHA256:`,
		`(?m)^  uploaded  +\d+  objects, `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("first deploy: no match for %s in\n%s", want, out)
		}
	}
	// What a reader downloads from the bucket verifies.
	deploytest.Download(t, srv.URL("briefings"), "downloaded")
	conclave(0, "verify", "--key", "secrets/site.pub", "downloaded")

	out, _ = conclave(0, "deploy", "prod")
	if !regexp.MustCompile(`(?m)^  uploaded  +0  objects, 0 bytes`).MatchString(out) {
		t.Errorf("second deploy uploaded something:\n%s", out)
	}
	// Wrong credentials: the server's answer, once (not tried again).
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	out, errOut := conclave(1, "deploy", "prod")
	want := "conclave: error: list the bucket: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.\n" +
		"conclave: hint: nothing was uploaded or deleted: the bucket is as it was\n"
	if out != "" || errOut != want {
		t.Errorf("wrong secret: stdout %q, stderr\n%s\nwant\n%s", out, errOut, want)
	}
}
