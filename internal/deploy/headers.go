package deploy

import (
	"mime"
	"path"
	"strings"

	"github.com/conclave-dev/conclave/internal/format"
)

// Cache-Control of the objects a deploy uploads.
const (
	// CacheImmutable is for packets and keyrings, named by the digest of
	// their bytes: a name never holds other bytes.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheShort is for every other file of a site (pages, stylesheets,
	// scripts, the search index, feeds), whose path stays from one
	// release to the next while its content changes.
	CacheShort = "public, max-age=300"
	// CacheRelease is for SHA256SUMS and its bundle: a cache may keep
	// them but must ask the bucket whether they changed before using
	// them, so that a reader never checks a new release against an old
	// manifest.
	CacheRelease = "no-cache"
)

// MetadataSHA256 is the metadata key under which every object a deploy
// uploads carries the SHA-256 digest of its bytes, in lower-case hex. A
// service stores metadata with the object's bytes, in the same write:
// an object carries it only once uploaded whole.
const MetadataSHA256 = "sha256"

// contentTypes are the types a deploy gives the files of a site, by
// extension: the same on every system (mime.TypeByExtension reads the
// system's tables, which differ).
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".json":  "application/json",
	".xml":   "application/xml",
	".txt":   "text/plain; charset=utf-8",
	".md":    "text/markdown; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".avif":  "image/avif",
	".ico":   "image/vnd.microsoft.icon",
	".pdf":   "application/pdf",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".map":   "application/json",
	".wasm":  "application/wasm",
	".age":   "application/octet-stream",
}

// ContentType is the Content-Type of the file at the slash path p of a
// site.
func ContentType(p string) string {
	switch {
	case p == format.Manifest:
		return "text/plain; charset=utf-8"
	case p == format.ManifestBundle:
		return "application/json"
	case p == "feed.xml":
		return "application/atom+xml"
	}
	ext := strings.ToLower(path.Ext(p))
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// CacheControl is the Cache-Control of the file at the slash path p of a
// site: [CacheImmutable] for a packet or keyring ([digestNamed]),
// [CacheRelease] for SHA256SUMS and its bundle, [CacheShort] otherwise.
func CacheControl(p string) string {
	switch {
	case isRelease(p):
		return CacheRelease
	case digestNamed(p):
		return CacheImmutable
	}
	return CacheShort
}

// digestNamed reports whether the slash path p is a packet or a keyring,
// named by the digest of its bytes.
func digestNamed(p string) bool {
	if format.IsPacketPath(p) {
		return true
	}
	name, ok := strings.CutPrefix(p, format.KeyringDir+"/")
	return ok && format.IsDigestFile(name)
}
