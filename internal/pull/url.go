package pull

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/conclave-dev/conclave/internal/manifest"
)

// SiteURL checks the URL of a site to pull and returns the URL of its root
// folder, its path ending in a slash. It must be https, or http to this
// machine (127.0.0.1, ::1 or localhost); it may name the site's SHA256SUMS;
// it may carry no user name or password, query or fragment.
func SiteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("site URL %q: %v", raw, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("%s: plain http is refused: anyone on the way could watch what you pull (use https; http is allowed only to this machine: 127.0.0.1, ::1 or localhost)", raw)
	case u.Scheme == "":
		return nil, fmt.Errorf("%q is not a URL: give the site's https:// URL", raw)
	default:
		return nil, fmt.Errorf("%s: a %s URL: pull fetches sites over https only", raw, u.Scheme)
	}
	switch {
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%s: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("%s: a user name or password in the URL is not supported", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%s: a site's URL is a folder: no query (?…) or fragment (#…)", raw)
	case u.Opaque != "":
		return nil, fmt.Errorf("%s: not a folder's URL", raw)
	}
	if path.Base(u.Path) == manifest.Name {
		u.Path = strings.TrimSuffix(u.Path, manifest.Name)
		u.RawPath = ""
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// isLoopback reports whether host names this machine: localhost, or a
// loopback address (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultDir is the folder a site is pulled into when none is given: the
// last element of the URL's path, or its host name, as git clone names a
// clone; "site" when neither makes a plain folder name.
func DefaultDir(u *url.URL) string {
	name := path.Base(strings.TrimSuffix(u.Path, "/"))
	if name == "/" || name == "." || name == "" {
		name = u.Hostname()
	}
	if name == "" || strings.HasPrefix(name, ".") || !filepath.IsLocal(name) || strings.ContainsAny(name, `/\:`) {
		return "site"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "site"
		}
	}
	return name
}
