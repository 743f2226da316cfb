package web

import (
	"embed"
	"io/fs"
)

// embedded holds the files under static/, with the "static" prefix.
//
//go:embed static
var embedded embed.FS

// static is embedded rooted at its "static" directory, computed once.
var static = sub(embedded, "static")

// sub returns fsys rooted at dir, or fsys itself if that fails (it cannot
// for a constant, embedded dir, but the package must not panic at init).
func sub(fsys fs.FS, dir string) fs.FS {
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		return fsys
	}
	return s
}

// Static returns the browser pages' files rooted so that "index.html" is
// at the top, ready to be served at "/" with http.FileServerFS: the web chat
// (index.html, chat.js, chat.css), the agent console (console.html,
// console.js, console.css) and favicon.svg, which both use.
func Static() fs.FS {
	return static
}
