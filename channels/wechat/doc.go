// Package wechat is carebot's WeChat Official Account (公众号) channel, on
// github.com/silenceper/wechat/v2: the webhook WeChat pushes messages to,
// and delivery of the outbox's messages through the customer-service API
// (客服消息) or, outside its window, template messages.
//
// The webhook verifies every request (signature, and in safe mode
// msg_signature, decryption and the AppID) before it parses anything,
// hands the normalised channels.Event to the engine and answers "success"
// at once: WeChat allows 5 seconds and retries three times, so replies are
// never passive; they go through the outbox and Send.
//
// Per-customer state (the customer-service window, the numbered menu last
// shown, the progress of a long message) lives in the channels.KV the bot
// supplies. The package imports only SDK subpackages: the SDK's root
// package switches the global logrus to Debug and prints message XML.
// The SDK's HTTP client is process-wide; New installs carebot's client on
// it (see wxapi.InstallHTTP), so tests that use it must not run in parallel.
//
// It knows nothing about dialog or storage; of carebot it imports only
// channels and channels/internal/wxapi, the SDK plumbing it shares with
// channels/wecom.
package wechat
