package build

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
)

// searchPackets returns the packets the search root of the site built in
// out names: the roots of the sealed indexes.
func searchPackets(t *testing.T, out string) map[string]bool {
	t.Helper()
	named := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(format.SearchIndex)))
	if os.IsNotExist(err) {
		return named
	}
	if err != nil {
		t.Fatal(err)
	}
	var root format.SearchRoot
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	for _, r := range root.Sealed {
		named[r.Packet] = true
	}
	return named
}
