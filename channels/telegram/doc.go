// Package telegram is carebot's Telegram channel, built on
// github.com/go-telegram/bot: a verified webhook handler, a long-polling
// loop that persists its offset, and the Channel the outbox delivers
// Telegram messages through.
//
// It normalises updates into channels.Event (text, button presses,
// unsupported media, members joining a group, the bot joining or leaving
// one) and maps channels.Outbound onto sendMessage with inline keyboards,
// split at Telegram's length limit. It knows nothing about dialog or
// storage: cursors and long button payloads live in the channels.KV the
// caller supplies, and events go to the channels.Dispatch it supplies.
//
// Package telegramtest holds a fake Bot API server for tests.
package telegram
