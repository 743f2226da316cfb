// Package web holds the browser assets of carebot, embedded so the binary
// needs no files: the customer web chat (index.html, chat.js, chat.css) and
// the agent console (console.html, console.js, console.css).
package web
