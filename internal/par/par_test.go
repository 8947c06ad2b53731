package par

import (
	"sync/atomic"
	"testing"
)

func TestDo(t *testing.T) {
	for _, workers := range []int{0, 1, 3, 100} {
		var sum atomic.Int64
		seen := make([]atomic.Int32, 1000)
		Do(len(seen), workers, func(i int) {
			seen[i].Add(1)
			sum.Add(int64(i))
		})
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("workers %d: f(%d) called %d times", workers, i, seen[i].Load())
			}
		}
		if sum.Load() != 999*1000/2 {
			t.Errorf("sum = %d", sum.Load())
		}
	}
	Do(0, 4, func(int) { t.Fatal("called for n = 0") })
}
