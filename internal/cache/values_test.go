package cache

import "encoding/gob"

// Load and Save read and write a cache of one value, as the tests do.

func Load(path string, key []byte, v any) (bool, error) {
	return LoadStream(path, key, func(d *gob.Decoder) error { return d.Decode(v) })
}

func Save(path string, key []byte, v any) error {
	return SaveStream(path, key, func(e *gob.Encoder) error { return e.Encode(v) })
}
