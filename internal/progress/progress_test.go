package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1536: "1.5 KiB", 16 << 20: "16.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the line's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The line is written over itself, padded to the longest so far, and
// cleared when stopped.
func TestLine(t *testing.T) {
	var w syncBuffer
	n := 0
	stop := Line(&w, func() string {
		n++
		if n == 1 {
			return "a longer line"
		}
		return "short"
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.String(), "short") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	got := w.String()
	if !strings.HasPrefix(got, "\ra longer line\rshort        ") || !strings.HasSuffix(got, "\r"+strings.Repeat(" ", 13)+"\r") {
		t.Errorf("written: %q", got)
	}
}
