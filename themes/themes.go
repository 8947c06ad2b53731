// Package themes embeds the default theme, so that conclave builds a site
// anywhere without a themes/ folder. A site overrides any of its files by
// placing a file with the same path under themes/<name>/.
package themes

import (
	"embed"
	"io/fs"
)

//go:embed all:default
var embedded embed.FS

// Default is the default theme: layouts/*.html and static/.
var Default fs.FS = mustSub(embedded, "default")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
