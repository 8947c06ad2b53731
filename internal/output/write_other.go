//go:build !linux

package output

import "os"

// writeNew creates the file name, which must not exist yet, and writes data to it.
func writeNew(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// links returns the number of hard links to a file: unknown (0) here, so
// that files are always written anew.
func links(os.FileInfo) uint64 { return 0 }

// stampOf returns no stamp here: no file is trusted by its metadata.
func stampOf(os.FileInfo) (Stamp, bool) { return Stamp{}, false }

// readWhole reads the file name.
func readWhole(name string) ([]byte, error) { return os.ReadFile(name) }
