package sign

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign/sigstoretest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// cosign runs the real cosign CLI offline, with its own HOME, and returns
// its combined output.
func cosign(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SIGSTORE_NO_CACHE=1", "TUF_ROOT="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCosignVerifiesConclave: cosign verify-blob accepts what conclave
// signs with a key, and refuses it once SHA256SUMS changes.
func TestCosignVerifiesConclave(t *testing.T) {
	bin := testtool.Require(t, "cosign")
	privPEM, pubPEM, err := GenerateKey([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadPrivateKey("site.key", privPEM, func() ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	dir := signedSite(t, key)
	pub := filepath.Join(t.TempDir(), "site.pub")
	writeFileT(t, pub, string(pubPEM))
	args := []string{"verify-blob", "--key", pub, "--bundle", filepath.Join(dir, manifest.BundleName), "--insecure-ignore-tlog", filepath.Join(dir, manifest.Name)}
	if out, err := cosign(t, bin, nil, args...); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob: %v\n%s", err, out)
	}
	editManifest(func(s string) string { return s + strings.Repeat("0", 64) + "  x\n" })(t, dir)
	if out, err := cosign(t, bin, nil, args...); err == nil {
		t.Fatalf("cosign verified a changed SHA256SUMS:\n%s", out)
	}
}

// TestConclaveUsesCosignKeys: a key pair from cosign generate-key-pair
// signs with conclave, and a bundle from cosign sign-blob verifies with
// conclave.
func TestConclaveUsesCosignKeys(t *testing.T) {
	bin := testtool.Require(t, "cosign")
	keys := t.TempDir()
	pw := []string{"COSIGN_PASSWORD=cosign-pw"}
	if out, err := cosign(t, bin, pw, "generate-key-pair", "--output-key-prefix", filepath.Join(keys, "ck")); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	priv, err := LoadPrivateKey("ck.key", readFile(t, filepath.Join(keys, "ck.key")), func() ([]byte, error) { return []byte("cosign-pw"), nil })
	if err != nil {
		t.Fatalf("conclave reading cosign's key: %v", err)
	}
	pub, err := LoadPublicKey("ck.pub", readFile(t, filepath.Join(keys, "ck.pub")))
	if err != nil {
		t.Fatal(err)
	}
	dir := signedSite(t, priv)
	if _, err := VerifySite(dir, Policy{Key: pub}); err != nil {
		t.Errorf("conclave signed with cosign's key, verify: %v", err)
	}

	// cosign signs, conclave verifies.
	dir = writeSite(t, siteFiles)
	bundle := filepath.Join(dir, manifest.BundleName)
	out, err := cosign(t, bin, pw, "sign-blob", "--key", filepath.Join(keys, "ck.key"), "--bundle", bundle,
		"--tlog-upload=false", "--use-signing-config=false", "--yes", filepath.Join(dir, manifest.Name))
	if err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, out)
	}
	if _, err := VerifySite(dir, Policy{Key: pub}); err != nil {
		t.Errorf("conclave verify of cosign's bundle: %v", err)
	}
	if _, err := VerifySite(dir, Policy{Key: &newKey(t).PublicKey}); err == nil {
		t.Error("cosign's bundle verified with another key")
	}
}

// TestCosignVerifiesKeyless: cosign verify-blob accepts a keyless bundle
// conclave made against an offline Sigstore, given its trusted root and the
// workflow identity, and refuses another identity. The offline deployment
// has no certificate transparency log, so cosign is told not to ask for
// an SCT; everything else (chain, Rekor entry, timestamp, identity) it
// checks as for the public deployment.
func TestCosignVerifiesKeyless(t *testing.T) {
	bin := testtool.Require(t, "cosign")
	s := sigstoretest.Start(t)
	dir := writeSite(t, siteFiles)
	if _, err := Site(context.Background(), dir, keyless(s, s.GitHubToken("acme/briefings", "publish.yml", "refs/heads/main"), trustedRoot(t, s))); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	writeFileT(t, rootFile, string(s.TrustedRoot))
	args := func(identity string) []string {
		return []string{"verify-blob", "--bundle", filepath.Join(dir, manifest.BundleName), "--trusted-root", rootFile, "--insecure-ignore-sct",
			"--certificate-identity", identity, "--certificate-oidc-issuer", sigstoretest.GitHubIssuer, filepath.Join(dir, manifest.Name)}
	}
	if out, err := cosign(t, bin, nil, args(workflow)...); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("cosign verify-blob (keyless): %v\n%s", err, out)
	}
	if out, err := cosign(t, bin, nil, args(otherWorkflow)...); err == nil {
		t.Fatalf("cosign accepted another workflow's identity:\n%s", out)
	}
}
