// Package wecom is carebot's WeCom customer-service (微信客服) channel, on
// github.com/silenceper/wechat/v2's work/kf client: customers write from
// WeChat to an enterprise's customer-service account, WeCom calls the
// callback, and the channel fetches the messages with sync_msg and
// answers with send_msg.
//
// The callback carries no message, only "there are messages" and a
// token: the handler verifies msg_signature itself (the SDK only
// decrypts), answers at once and syncs in the background, saving the
// cursor in the channels.KV after each page, and hands the customers'
// messages (origin 3) to the engine. Replies follow WeCom's rule of at
// most 5 messages within 48 hours of the customer's last message, counted
// in the KV, so a reply that cannot arrive fails with the reason instead
// of an opaque API error.
//
// The package imports only SDK subpackages (the root package switches the
// global logrus to Debug). The SDK's HTTP client is process-wide and is
// shared with channels/wechat (see wxapi.InstallHTTP), so tests that use it must
// not run in parallel. Of carebot it imports only channels and
// channels/internal/wxapi, the SDK plumbing it shares with channels/wechat.
package wecom
