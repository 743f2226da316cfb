// Package wxapi is what carebot's WeChat-family channels (channels/wechat
// for the Official Account, channels/wecom for WeCom customer service)
// share around github.com/silenceper/wechat/v2: the routing of the SDK's
// process-wide HTTP client to each channel's configured API base, a token
// cache safe for concurrent senders, hiding credentials in errors, reading
// WeChat's errcode out of the SDK's errors, and splitting long texts into
// messages.
//
// It imports only the standard library and SDK subpackages: the SDK's
// root package switches the global logrus to Debug and prints message XML.
package wxapi
