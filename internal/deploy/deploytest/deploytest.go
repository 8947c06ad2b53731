// Package deploytest runs an S3 server for the tests of conclave deploy:
// versitygw (Apache-2.0) with its posix back end, on a free loopback
// port, over a folder whose sub-folders are its buckets. .ci/run installs
// it:
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// A test that starts one is skipped when versitygw is not installed, or
// fails if CONCLAVE_REQUIRE_TOOLS=1 ([testtool.Require]).
package deploytest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file://
	_ "gocloud.dev/blob/s3blob"   // s3://

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// Credentials of the server's root account, which [StartS3] sets in the
// environment as the AWS SDK reads them.
const (
	AccessKey = "conclave-test"
	SecretKey = "conclave-test-secret"
)

// S3 is a versitygw server run by a test.
type S3 struct {
	Root string // the folder of its buckets
	Addr string // host:port
	bin  string
	cmd  *exec.Cmd
	out  strings.Builder
}

// StartS3 starts versitygw on a free loopback port, with the buckets
// named, and sets the AWS SDK's credentials and region for it in the
// environment of the test (so the test cannot be parallel). The server
// stops when the test ends.
func StartS3(t *testing.T, buckets ...string) *S3 {
	t.Helper()
	s := &S3{Root: t.TempDir(), bin: testtool.Require(t, "versitygw")}
	for _, b := range buckets {
		if err := os.Mkdir(filepath.Join(s.Root, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	l.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	// Nothing of the machine's own AWS set-up.
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(s.Root, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(s.Root, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	s.Start(t)
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again after [S3.Stop], on the same port and
// folder, and waits until it answers.
func (s *S3) Start(t testing.TB) {
	t.Helper()
	s.out.Reset()
	s.cmd = exec.Command(s.bin, "--access", AccessKey, "--secret", SecretKey, "--port", s.Addr, "--quiet", "posix", s.Root)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("versitygw did not start on %s: %s", s.Addr, s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server at once, as a crash would.
func (s *S3) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// URL is the bucket URL, for gocloud.dev/blob, of the server's bucket.
func (s *S3) URL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=http://%s&use_path_style=true&disable_https=true&region=us-east-1&response_checksum_validation=when_required", bucket, s.Addr)
}

// Download copies from the bucket at url what a reader of the site
// fetches: SHA256SUMS, its bundle if there is one, and every file
// SHA256SUMS lists (a file missing from the bucket is missing from dir).
func Download(t testing.TB, url, dir string) {
	t.Helper()
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := b.ReadAll(ctx, format.Manifest)
	if err != nil {
		t.Fatalf("download %s: %v", format.Manifest, err)
	}
	entries, err := manifest.Parse(format.Manifest, m)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{format.Manifest: m}
	if bundle, err := b.ReadAll(ctx, format.ManifestBundle); err == nil {
		files[format.ManifestBundle] = bundle
	}
	for _, e := range entries {
		if data, err := b.ReadAll(ctx, e.Path); err == nil {
			files[e.Path] = data
		}
	}
	for p, data := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
