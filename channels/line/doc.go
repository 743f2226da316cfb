// Package line is carebot's LINE channel, built on the official
// line-bot-sdk-go (v8) Messaging API client.
//
// It owns three things: the webhook handler mounted at /webhook/line, which
// verifies X-Line-Signature, normalises LINE's events to channels.Event and
// hands them to the engine; Send, which delivers one outbox row with a free
// reply while the event's reply token is fresh and as an idempotent push
// (with a retry key derived from the row id) otherwise; and Typing, LINE's
// loading animation.
//
// The package knows nothing about dialog, storage or the outbox's policy:
// it imports only channels and the SDK. Deduplication of redelivered events
// is the engine's job (Event.ID is LINE's webhookEventId); retrying a failed
// send is the outbox's (Send says which errors are permanent and how long
// LINE asked to wait). Package linetest is a fake Messaging API for tests.
package line
