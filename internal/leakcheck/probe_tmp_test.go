package leakcheck

import "testing"

func TestProbeTmp(t *testing.T) {
	c := loadCorpus()
	s := New(c.secrets, c.public)
	m := s.m
	var pos, probes int
	var buf []byte
	for _, f := range c.files {
		buf = normText(buf[:0], f.Data)
		pos += len(buf) - 7
		for q := 0; ; q++ {
			q = next(buf, q, m.bits, m.wshift)
			if q < 0 {
				break
			}
			probes++
		}
	}
	t.Logf("frags %d words %d: positions %d probes %d (%.3f%%)", len(m.frags), len(m.bits), pos, probes, 100*float64(probes)/float64(pos))
}
