package sign

import (
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TrustedRoot reads a Sigstore trusted root (trusted_root.json: the
// certificate authorities, logs and timestamp authorities of a
// deployment) from file, for offline checks and private deployments. With
// no file it fetches the public deployment's root over TUF from
// tuf-repo-cdn.sigstore.dev, cached under ~/.sigstore.
func TrustedRoot(file string) (root.TrustedMaterial, error) {
	if file == "" {
		tr, err := root.FetchTrustedRoot()
		if err != nil {
			return nil, fmt.Errorf("fetching the public Sigstore trusted root: %v (offline? give --trusted-root FILE)", err)
		}
		return tr, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a Sigstore trusted root: %v", file, err)
	}
	return tr, nil
}

// TrustedRootLoader returns a [Policy.LoadTrustedRoot] that reads the
// trusted root file, or fetches the public one when file is "" (see
// [TrustedRoot]).
func TrustedRootLoader(file string) func() (root.TrustedMaterial, error) {
	return func() (root.TrustedMaterial, error) { return TrustedRoot(file) }
}
