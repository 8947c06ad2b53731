package open

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// openSearch makes the readable copy in dir searchable for the reader
// (DESIGN §11): it opens the sealed search indexes of the reader's
// audiences (those whose tag a key of theirs gives), writes each, shards
// merged, in clear as search/opened/N.json, and lists them in the copy's
// search/index.json, which the search script reads. A site without
// search, or an index it cannot read, leaves the copy's search public
// only (the latter with a problem in the report).
func (r *Reader) openSearch(dir string) error {
	data, err := r.read(format.SearchIndex, manifest.SizeLimit(format.SearchIndex))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a site without search
	}
	if err != nil {
		r.problem(format.SearchIndex, "not searchable: %s", reason(err))
		return nil
	}
	var root format.SearchRoot
	if err := json.Unmarshal(data, &root); err != nil || root.Version != format.SearchVersion {
		r.problem(format.SearchIndex, "not searchable: not a search index of version %d", format.SearchVersion)
		return nil
	}
	mine := map[string]bool{}
	for _, id := range r.ids {
		if s, ok := id.(fmt.Stringer); ok {
			mine[format.SearchTag(s.String())] = true
		}
	}
	var found [][]byte
	for _, ref := range root.Sealed {
		if !mine[ref.Tag] {
			continue
		}
		x, err := r.sealedSearch(ref.Packet)
		if err != nil {
			r.problem(ref.Packet, "a search index of yours could not be opened: %v", err)
			continue
		}
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		found = append(found, append(b, '\n'))
	}
	// In the order of their content, not of their tags, which change with
	// the audiences' keys: the same site opens to the same copy.
	slices.SortFunc(found, bytes.Compare)
	root.Opened = nil
	for _, b := range found {
		p := format.SearchOpenedDir + "/" + strconv.Itoa(len(root.Opened)) + ".json"
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(p)), b); err != nil {
			return err
		}
		root.Opened = append(root.Opened, p)
	}
	return writeJSON(filepath.Join(dir, filepath.FromSlash(format.SearchIndex)), root)
}

// sealedSearch opens the sealed index whose root is the packet p, with
// its shards' terms merged into its root's.
func (r *Reader) sealedSearch(p string) (*format.SealedSearch, error) {
	var x format.SealedSearch
	if err := r.packetJSON(p, &x); err != nil {
		return nil, err
	}
	if x.Version != format.SearchVersion {
		return nil, fmt.Errorf("not a search index of version %d", format.SearchVersion)
	}
	if x.Terms == nil {
		x.Terms = map[string]string{}
	}
	for _, sp := range x.Shards {
		var shard format.SearchShard
		if err := r.packetJSON(sp, &shard); err != nil {
			return nil, err
		}
		for t, b := range shard.Terms {
			x.Terms[t] = b
		}
	}
	x.Shards = nil
	return &x, nil
}

// packetJSON decodes the plaintext of the packet p into v.
func (r *Reader) packetJSON(p string, v any) error {
	plain, ok, err := r.Packet(p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not for your keys", p)
	}
	return json.Unmarshal(plain, v)
}

func writeJSON(p string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFile(p, append(b, '\n'))
}

func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o600)
}
