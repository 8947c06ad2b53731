package tlp

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Label
		wantErr string
	}{
		{"clear", Clear, ""},
		{"GREEN", Green, ""},
		{"TLP:AMBER", Amber, ""},
		{"amber+strict", AmberStrict, ""},
		{" red ", Red, ""},
		{"white", None, `TLP 2.0 calls it "clear"`},
		{"amber-strict", None, "want one of clear, green, amber, amber+strict, red"},
		{"", None, "unknown TLP label"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestOrderAndDisplay(t *testing.T) {
	order := []Label{Clear, Green, Amber, AmberStrict, Red}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("%v should be less restrictive than %v", order[i-1], order[i])
		}
	}
	if got := AmberStrict.Display(); got != "TLP:AMBER+STRICT" {
		t.Errorf("Display = %q", got)
	}
	if got := AmberStrict.Class(); got != "amber-strict" {
		t.Errorf("Class = %q", got)
	}
	for _, l := range order {
		if l.Meaning() == "" {
			t.Errorf("%v has no meaning", l)
		}
		back, err := Parse(l.Display())
		if err != nil || back != l {
			t.Errorf("round trip of %v: %v, %v", l, back, err)
		}
	}
}
