package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// TokenSource says where keyless signing finds its OIDC identity token.
type TokenSource struct {
	// File names a file holding the token (CIs that write one, such as
	// GitLab's id_tokens or a Kubernetes projected token).
	File string
	// Getenv reads the environment (os.Getenv when nil): SIGSTORE_ID_TOKEN
	// holds a token; ACTIONS_ID_TOKEN_REQUEST_URL and
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN are GitHub Actions' way to ask for one
	// (the workflow needs "permissions: id-token: write").
	Getenv func(string) string
	Client *http.Client // for GitHub's token service; nil means a 30 s client
}

// Audience is the audience Sigstore's Fulcio accepts in identity tokens.
const Audience = "sigstore"

// IDToken returns the OIDC identity token from the first source that has
// one: the file, SIGSTORE_ID_TOKEN, then GitHub Actions' token service.
// The token is a secret: it is never printed.
func IDToken(ctx context.Context, src TokenSource) (string, error) {
	getenv := src.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return "", fmt.Errorf("identity token: %w", err)
		}
		return checkToken(src.File, string(data))
	}
	if t := getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return checkToken("SIGSTORE_ID_TOKEN", t)
	}
	reqURL, reqToken := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL != "" && reqToken != "" {
		t, err := githubToken(ctx, src.Client, reqURL, reqToken)
		if err != nil {
			return "", err
		}
		return checkToken("GitHub Actions' token service", t)
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		return "", errors.New("no identity token: this GitHub Actions job may not ask for one; give the workflow \"permissions: id-token: write\"")
	}
	return "", errors.New("no identity token: keyless signing runs in CI with an OIDC token (GitHub Actions with \"permissions: id-token: write\", SIGSTORE_ID_TOKEN, or --identity-token FILE); elsewhere sign with --key")
}

// githubToken asks GitHub Actions' token service for a token with the
// Sigstore audience.
func githubToken(ctx context.Context, client *http.Client, reqURL, bearer string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %v", err)
	}
	q := u.Query()
	q.Set("audience", Audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("asking GitHub Actions for an identity token: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("asking GitHub Actions for an identity token: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("asking GitHub Actions for an identity token: %s", resp.Status)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", errors.New("asking GitHub Actions for an identity token: the answer holds no token")
	}
	return out.Value, nil
}

// checkToken checks that t looks like a JWT (three base64url parts, a
// JSON payload) so that a wrong file fails here and not at Fulcio. The
// token's signature is Fulcio's to check.
func checkToken(from, t string) (string, error) {
	t = strings.TrimSpace(t)
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("identity token from %s is not a JWT (want three dot-separated parts)", from)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("identity token from %s: payload is not base64url", from)
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", fmt.Errorf("identity token from %s: payload is not JSON", from)
	}
	if !hasAudience(claims.Aud, Audience) {
		return "", fmt.Errorf("identity token from %s is not for Sigstore: its audience must include %q", from, Audience)
	}
	return t, nil
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}
