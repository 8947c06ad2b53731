package markdown

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/site"
)

func genStair(size, depth int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		d := i % depth
		if d == 0 && i > 0 {
			b.WriteString("\npara\n\n")
		}
		b.WriteString(strings.Repeat("  ", d) + "- x\n")
	}
	return b.String()
}

func genQuote(size, depth int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(strings.Repeat(">", depth) + " x\n")
		if i%50 == 49 {
			b.WriteString("\npara\n\n")
		}
	}
	return b.String()
}

func genRestricted(size, depth int) string {
	var b strings.Builder
	for b.Len() < size {
		for d := 0; d < depth; d++ {
			b.WriteString("::: restricted to=a\n")
		}
		b.WriteString("x\n")
		for d := 0; d < depth; d++ {
			b.WriteString(":::\n")
		}
		b.WriteString("\npara\n\n")
	}
	return b.String()
}

func TestExploreNesting(t *testing.T) {
	c, _ := New(Options{})
	shapes := map[string]func(int, int) string{"stair": genStair, "quote": genQuote, "restricted": genRestricted}
	size := 1 << 20
	if s := os.Getenv("SIZE"); s != "" {
		size, _ = strconv.Atoi(s)
	}
	if os.Getenv("SHAPES") == "" {
		t.Skip()
	}
	for _, name := range strings.Split(os.Getenv("SHAPES"), ",") {
		for _, ds := range strings.Split(os.Getenv("DEPTHS"), ",") {
			d, _ := strconv.Atoi(ds)
			src := []byte(shapes[name](size, d))
			best := time.Hour
			for range 3 {
				start := time.Now()
				c.Parse(&site.Page{Body: src}, nil)
				best = min(best, time.Since(start))
			}
			fmt.Printf("%s depth %d: %v (%.0f ns/byte)\n", name, d, best, float64(best.Nanoseconds())/float64(len(src)))
		}
	}
}
