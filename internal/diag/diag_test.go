package diag

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{File: "a.md", Line: 3, Col: 7, Msg: "m"}, "a.md:3:7: m"},
		{&Error{File: "a.md", Line: 3, Msg: "m"}, "a.md:3: m"},
		{&Error{File: "a.md", Msg: "m"}, "a.md: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Error("empty list is an error")
	}
	base := errors.New("plain")
	l.Add(Errorf("b.md", 2, "x"))
	l.Add(nil)
	l.Add(base)
	l.Add(List{Errorf("a.md", 9, "y"), List{Errorf("b.md", 1, "z")}})
	l.Add(errors.New("another"))
	l.Add(Errorf("b.md", 2, "x"))
	err := l.Err()
	if got, want := err.Error(), "a.md:9: y\nb.md:1: z\nb.md:2: x\nanother\nplain"; got != want {
		t.Errorf("list = %q, want %q", got, want)
	}
	for _, e := range err.(List) {
		if _, nested := e.(List); nested {
			t.Errorf("a list inside the list: %q", e)
		}
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), base) {
		t.Error("errors.Is does not see into the list")
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"title", "date", "tags", "juniper", "cisco-psirt"}
	for in, want := range map[string]string{"titel": "title", "junper": "juniper", "cisco-psrt": "cisco-psirt", "tag": "tags", "zzzzzz": "", "title": ""} {
		if got := Suggest(in, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"title", "title", 0},
		{"titel", "title", 2},
		{"audiance", "audience", 1},
		{"kitten", "sitting", 3},
		{"tlp", "TLP", 3},
		{"né", "ne", 1}, // runes, not bytes
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
