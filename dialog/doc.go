// Package dialog decides what the bot says in one turn of a conversation.
//
// A Router holds a table of routes (greeting, help, FAQ answer, fallback…);
// the first route whose Match accepts the turn handles it. Later features
// (emotion, handoff, loyalty commands) are added as rows of that table.
//
// dialog is pure decision logic: it reads the conversation State and the
// knowledge base and returns replies and the new State. It never stores
// anything and never talks to a channel; package bot persists the result and
// queues the replies in one transaction.
package dialog
