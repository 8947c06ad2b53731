package cache

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// smallChunks cuts cache files into chunks of n bytes for one test.
func smallChunks(t *testing.T, n int) {
	old := chunkSize
	chunkSize = n
	t.Cleanup(func() { chunkSize = old })
}

func sealBytes(t *testing.T, plain []byte, name string) []byte {
	t.Helper()
	aead, err := newAEAD(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s, err := newSealer(&out, aead, name)
	if err != nil {
		t.Fatal(err)
	}
	// Written in uneven pieces, as gob writes its values.
	for rest := plain; len(rest) > 0; {
		k := min(len(rest), 1+len(rest)%7)
		if n, err := s.Write(rest[:k]); n != k || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		rest = rest[k:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func openBytes(data []byte, name string) ([]byte, error) {
	aead, _ := newAEAD(testKey(1))
	o, err := newOpener(bytes.NewReader(data), aead, name)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(o)
}

// Every size round-trips, a multiple of the chunk size included, and the
// file is as long as its chunks say: one tag per chunk, the last never full.
func TestChunksRoundTrip(t *testing.T) {
	const n = 16
	smallChunks(t, n)
	for size := range 4*n + 2 {
		plain := bytes.Repeat([]byte("abcdefghij"), size/10+1)[:size]
		data := sealBytes(t, plain, "x.cache")
		chunks := size/n + 1
		if want := len(magic) + prefixSize + size + chunks*16; len(data) != want {
			t.Errorf("%d bytes: a file of %d bytes, want %d", size, len(data), want)
		}
		got, err := openBytes(data, "x.cache")
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: read %q, %v", size, got, err)
		}
	}
}

// Whatever is done to the chunks of a file, it does not open.
func TestChunksRefused(t *testing.T) {
	const n = 16
	smallChunks(t, n)
	plain := []byte(strings.Repeat("embargoed detail ", 5)) // 85 bytes: 5 full chunks and a last of 5
	good := sealBytes(t, plain, "x.cache")
	head := len(magic) + prefixSize
	full := n + 16
	chunk := func(i int) []byte { return good[head+i*full : min(head+(i+1)*full, len(good))] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, data := range map[string][]byte{
		"a chunk dropped":             join(good[:head], chunk(0), chunk(2), chunk(3), chunk(4), chunk(5)),
		"a chunk repeated":            join(good[:head], chunk(0), chunk(0), chunk(1), chunk(2), chunk(3), chunk(4), chunk(5)),
		"two chunks swapped":          join(good[:head], chunk(1), chunk(0), chunk(2), chunk(3), chunk(4), chunk(5)),
		"the last chunk dropped":      good[:head+5*full],
		"cut inside a chunk":          good[:head+2*full+7],
		"cut inside the last chunk":   good[:len(good)-1],
		"a byte after the last chunk": join(good, []byte{0}),
		"a chunk after the last":      join(good, chunk(1)),
		"a full chunk as the last":    join(good[:head], chunk(0), chunk(1), chunk(2), chunk(3), chunk(4)),
		"a byte flipped":              join(good[:head+3*full+2], []byte{good[head+3*full+2] ^ 1}, good[head+3*full+3:]),
		"another file's prefix":       join(sealBytes(t, plain, "x.cache")[:head], good[head:]),
	} {
		got, err := openBytes(data, "x.cache")
		var bad *UnreadableError
		if !errors.As(err, &bad) {
			t.Errorf("%s: read %q, %v; want an UnreadableError", name, got, err)
		}
	}
	if got, err := openBytes(good, "y.cache"); err == nil {
		t.Errorf("opened under another name: %q", got)
	}
	if got, err := openBytes(good, "x.cache"); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("the good file: %q, %v", got, err)
	}
}
