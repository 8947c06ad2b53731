// Package sign signs a site's manifest (SHA256SUMS) with Sigstore and
// verifies it: a bundle made with a key in cosign's format, or keyless in
// CI with a Fulcio certificate, a Rekor entry and a signed timestamp. The
// bundles are Sigstore bundles v0.3 that cosign verifies too.
//
// Sigstore's libraries are used here and nowhere else in conclave.
package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// PEM block types of cosign's key files.
const (
	privatePEM       = "ENCRYPTED SIGSTORE PRIVATE KEY"
	legacyPrivatePEM = "ENCRYPTED COSIGN PRIVATE KEY" // written by cosign before v2
	publicPEM        = "PUBLIC KEY"
)

// GenerateKey returns a new ECDSA P-256 key pair in cosign's format: the
// private key encrypted with password (scrypt and secretbox, PEM type
// "ENCRYPTED SIGSTORE PRIVATE KEY"), and the public key (PEM "PUBLIC
// KEY"). cosign sign-blob and verify-blob read both files.
func GenerateKey(password []byte) (privPEM, pubPEM []byte, err error) {
	if password == nil {
		password = []byte{}
	}
	pf := func(bool) ([]byte, error) { return password, nil }
	return cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), pf)
}

// LoadPrivateKey reads an encrypted private key in cosign's format (made by
// GenerateKey or `cosign generate-key-pair`); file names it in errors. The
// password is asked for only once the file is known to need one.
func LoadPrivateKey(file string, data []byte, password func() ([]byte, error)) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not a PEM file: want a private key in cosign's format (%q)", file, privatePEM)
	}
	switch block.Type {
	case privatePEM, legacyPrivatePEM:
	case publicPEM:
		return nil, fmt.Errorf("%s is a public key: signing needs the private key (the .key file)", file)
	default:
		return nil, fmt.Errorf("%s: a %q block: want a private key in cosign's format (%q), as `conclave keys signing` or `cosign generate-key-pair` write", file, block.Type, privatePEM)
	}
	pass, err := password()
	if err != nil {
		return nil, err
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(data, func(bool) ([]byte, error) { return pass, nil })
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decrypt the private key: wrong password, or a damaged file", file)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: %s key: conclave signs with ECDSA P-256 keys only, which cosign verifies everywhere", file, keyKind(key))
	}
	return ec, nil
}

// LoadPublicKey reads a PEM public key (cosign's .pub file); file names it
// in errors.
func LoadPublicKey(file string, data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: not a PEM file: want a public key (%q)", file, publicPEM)
	}
	if block.Type != publicPEM {
		if block.Type == privatePEM || block.Type == legacyPrivatePEM {
			return nil, fmt.Errorf("%s is a private key: verifying needs the public key (the .pub file); keep the private key secret", file)
		}
		return nil, fmt.Errorf("%s: a %q block: want a public key (%q)", file, block.Type, publicPEM)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: bad public key: %v", file, err)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: %s key: conclave verifies ECDSA P-256 keys only", file, keyKind(key))
	}
	return ec, nil
}

// Fingerprint names a public key in messages: "SHA256:" and the base64
// SHA-256 digest of its DER encoding, as cosign's key hints are.
func Fingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "(unknown key)"
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:])
}

func keyKind(key any) string {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA " + k.Curve.Params().Name
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	default:
		return fmt.Sprintf("%T", key)
	}
}
