package wxapi

import (
	"net/url"
	"strings"
	"unicode"
)

// ImageMark starts the line that stands for a picture (Outbound.ImageURL).
// Both platforms send an image only as a media_id, which the temporary
// media upload API returns for the file's bytes: sending a picture by URL
// would mean carebot fetching arbitrary URLs server-side and uploading
// them, a separate decision (size limits, SSRF, quota). So the adapters
// send the picture's link instead, marked with an emoji rather than words,
// which reads the same in every locale.
const ImageMark = "🖼 "

// HTTPSURL reports whether raw is fit to send as a link: an absolute https
// URL with a host, no user info (which can disguise the real host), and
// no spaces or control characters (which would end the link in a text).
func HTTPSURL(raw string) bool {
	if raw == "" || strings.ContainsFunc(raw, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
	}) {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && u.Opaque == ""
}
