// Package web holds the browser assets of carebot (the web chat page, later the agent and manager consoles), embedded so the binary needs no files.
package web
