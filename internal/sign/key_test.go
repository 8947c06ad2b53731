package sign

import (
	"crypto/elliptic"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func TestGenerateAndLoadKey(t *testing.T) {
	privPEM, pubPEM, err := GenerateKey([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(privPEM); b == nil || b.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Fatalf("private key PEM = %.60q", privPEM)
	}
	asked := 0
	key, err := LoadPrivateKey("site.key", privPEM, func() ([]byte, error) { asked++; return []byte("correct horse"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if asked != 1 {
		t.Errorf("password asked %d times, want 1", asked)
	}
	pub, err := LoadPublicKey("site.pub", pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(pub) {
		t.Error("the public key is not the private key's")
	}
	if !strings.HasPrefix(Fingerprint(pub), "SHA256:") || Fingerprint(pub) != string("SHA256:"+string(keypair{key}.GetHint())) {
		t.Errorf("Fingerprint = %s, hint %s", Fingerprint(pub), keypair{key}.GetHint())
	}
}

func TestLoadPrivateKeyErrors(t *testing.T) {
	privPEM, pubPEM, err := GenerateKey([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	p384, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P384(), func(bool) ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy := []byte(strings.ReplaceAll(string(privPEM), "SIGSTORE", "COSIGN"))
	for _, tt := range []struct {
		name, data, pass, want string
		asks                   bool
	}{
		{"wrong password", string(privPEM), "nope", "k.key: cannot decrypt the private key: wrong password, or a damaged file", true},
		{"public key", string(pubPEM), "pw", "k.key is a public key: signing needs the private key", false},
		{"not PEM", "hello", "pw", "k.key: not a PEM file", false},
		{"unencrypted key", string(plain), "pw", `k.key: a "PRIVATE KEY" block: want a private key in cosign's format`, false},
		{"P-384", string(p384), "pw", "k.key: ECDSA P-384 key: conclave signs with ECDSA P-256 keys only", true},
		{"damaged", strings.Replace(string(privPEM), "a", "b", 3), "pw", "k.key: ", true},
	} {
		asked := false
		_, err := LoadPrivateKey("k.key", []byte(tt.data), func() ([]byte, error) { asked = true; return []byte(tt.pass), nil })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if asked != tt.asks {
			t.Errorf("%s: password asked = %v, want %v", tt.name, asked, tt.asks)
		}
	}
	// cosign before v2 wrote "ENCRYPTED COSIGN PRIVATE KEY": still read.
	if _, err := LoadPrivateKey("k.key", legacy, func() ([]byte, error) { return []byte("pw"), nil }); err != nil {
		t.Errorf("legacy cosign key: %v", err)
	}
}

func TestLoadPublicKeyErrors(t *testing.T) {
	privPEM, _, err := GenerateKey([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	_, p384, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, data, want string }{
		{"private key", string(privPEM), "k.pub is a private key: verifying needs the public key"},
		{"not PEM", "ssh-ed25519 AAAA", "k.pub: not a PEM file"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", `k.pub: a "CERTIFICATE" block`},
		{"garbage body", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", "k.pub: bad public key"},
		{"P-384", string(p384), "k.pub: ECDSA P-384 key: conclave verifies ECDSA P-256 keys only"},
	} {
		if _, err := LoadPublicKey("k.pub", []byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
