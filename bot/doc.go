// Package bot is carebot's engine and server: it wires the configuration
// into a store, a knowledge base, a dialog router and the enabled channels;
// dispatches each inbound event (dedupe, dialog, one transaction for the log,
// state and outbound messages); runs the outbox worker that delivers those
// messages with retries; and serves HTTP (web chat, health, metrics, admin).
//
// bot translates between channel events and dialog turns, so domain packages
// never import channels or bot.
package bot
