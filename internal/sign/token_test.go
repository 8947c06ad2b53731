package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jwt returns an unsigned token with the given claims.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256"}) + "." + enc(claims) + ".c2ln"
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestIDTokenSources(t *testing.T) {
	good := jwt(map[string]any{"aud": "sigstore", "sub": "x"})
	list := jwt(map[string]any{"aud": []string{"other", "sigstore"}})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var gotAuth, gotAudience string
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAudience = r.Header.Get("Authorization"), r.URL.Query().Get("audience")
		if gotAuth != "bearer request-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": list})
	}))
	defer gh.Close()

	ctx := context.Background()
	tok, err := IDToken(ctx, TokenSource{File: file, Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": list})})
	if err != nil || tok != good {
		t.Errorf("file first: %q, %v", tok, err)
	}
	tok, err = IDToken(ctx, TokenSource{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": list, "ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL})})
	if err != nil || tok != list {
		t.Errorf("SIGSTORE_ID_TOKEN: %q, %v", tok, err)
	}
	tok, err = IDToken(ctx, TokenSource{Getenv: env(map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   gh.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
	})})
	if err != nil || tok != list {
		t.Errorf("GitHub Actions: %q, %v", tok, err)
	}
	if gotAudience != "sigstore" {
		t.Errorf("GitHub was asked for audience %q", gotAudience)
	}
	_, err = IDToken(ctx, TokenSource{Getenv: env(map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   gh.URL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong",
	})})
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("refused by GitHub: %v", err)
	}
}

func TestIDTokenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing", nil, "no identity token: keyless signing runs in CI"},
		{"GitHub without permission", map[string]string{"GITHUB_ACTIONS": "true"}, `permissions: id-token: write`},
		{"not a JWT", map[string]string{"SIGSTORE_ID_TOKEN": "secret-ish"}, "identity token from SIGSTORE_ID_TOKEN is not a JWT"},
		{"bad payload", map[string]string{"SIGSTORE_ID_TOKEN": "a.!!.c"}, "payload is not base64url"},
		{"wrong audience", map[string]string{"SIGSTORE_ID_TOKEN": jwt(map[string]any{"aud": "github"})}, `its audience must include "sigstore"`},
	} {
		_, err := IDToken(ctx, TokenSource{Getenv: env(tt.env)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-ish") {
			t.Errorf("%s: the error prints the token", tt.name)
		}
	}
	if _, err := IDToken(ctx, TokenSource{File: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("missing token file accepted")
	}
}
