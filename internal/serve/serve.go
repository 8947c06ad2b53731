// Package serve is the author's preview server: it serves a build held in
// memory, with the same security headers a careful host would send.
package serve

import (
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
)

// Handler serves the files of a memory build. Only paths inside the build
// are served: a request path is cleaned first, so "..", encoded dots and
// the like never reach outside it, and there is no file system behind it.
func Handler(files *output.Memory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", render.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		name := strings.TrimPrefix(p, "/")
		if strings.HasSuffix(r.URL.Path, "/") || name == "" {
			name = path.Join(name, "index.html")
		}
		data, ok := files.Get(name)
		if !ok && !strings.HasSuffix(r.URL.Path, "/") {
			if _, dir := files.Get(path.Join(name, "index.html")); dir {
				http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
				return
			}
		}
		status := http.StatusOK
		if !ok {
			status = http.StatusNotFound
			name = "404.html"
			if data, ok = files.Get(name); !ok {
				http.NotFound(w, r)
				return
			}
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		if name == "SHA256SUMS" {
			ctype = "text/plain; charset=utf-8"
		}
		h.Set("Content-Type", ctype)
		w.WriteHeader(status)
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	})
}
