// Package webchat is carebot's built-in web chat channel: the JSON API the
// chat page in package web talks to, a Server-Sent Events stream of later
// messages, and the Channel that the outbox delivers web chat replies to.
//
// Messages of a session are kept in a Journal supplied by the caller (the
// engine implements it over the store), so a reload shows the history and a
// reconnecting stream resumes without repeats. The package knows nothing
// about dialog or storage; it only imports channels.
package webchat
