package par

import (
	"errors"
	"fmt"
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

// Each returns the errors in the order of the indexes, whatever order the
// workers finish in, and nothing when every call succeeds.
func TestEachErrorsInOrder(t *testing.T) {
	errs := Each(100, 8, func(i int) error {
		if i%7 == 3 {
			return fmt.Errorf("item %d", i)
		}
		return nil
	})
	if len(errs) != 14 {
		t.Fatalf("%d errors, want 14: %v", len(errs), errs)
	}
	for k, err := range errs {
		if want := fmt.Sprintf("item %d", 7*k+3); err.Error() != want {
			t.Errorf("error %d = %q, want %q", k, err, want)
		}
	}
	if errs := Each(10, 2, func(int) error { return nil }); len(errs) != 0 {
		t.Errorf("no failure, yet errors %v", errs)
	}
	sentinel := errors.New("x")
	if errs := Each(1, 0, func(int) error { return sentinel }); len(errs) != 1 || errs[0] != sentinel {
		t.Errorf("errors = %v", errs)
	}
}
