package leakcheck

import (
	"testing"
)

func BenchmarkFindTmp(b *testing.B) {
	c := loadCorpus()
	s := New(c.secrets, c.public)
	var bufs [][]byte
	n := 0
	for _, f := range c.files[:200] {
		bufs = append(bufs, normText(nil, f.Data))
		n += len(bufs[len(bufs)-1])
	}
	st := s.m.newState()
	b.SetBytes(int64(n))
	b.ResetTimer()
	for b.Loop() {
		for _, t := range bufs {
			st.id++
			st.find(t, 0, false)
		}
	}
}
