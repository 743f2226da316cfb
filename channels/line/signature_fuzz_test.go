package line

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/carebot/carebot/channels/line/linetest"
)

// FuzzSignature checks the webhook's X-Line-Signature check with
// arbitrary bodies and signatures: a request gets past it exactly when
// the signature is the base64 HMAC-SHA256 of the body under the channel
// secret; the body's correct signature always passes; and that signature
// no longer passes once any bit of the body changes. Nothing is
// dispatched from a refused request.
func FuzzSignature(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "webhook", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, linetest.Sign(testSecret, b), uint(i*37))
		f.Add(b, linetest.Sign("another secret", b), uint(i))
	}
	f.Add([]byte(`{"events":[]}`), "", uint(0))
	f.Add([]byte(`{"events":[]}`), "bm90IGEgc2lnbmF0dXJl", uint(3))
	f.Add([]byte(``), linetest.Sign(testSecret, nil), uint(0))
	f.Add([]byte("\xff"), "====", uint(7))
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body []byte, sig string, flip uint) {
		h.rec.reset()
		mac := hmac.New(sha256.New, []byte(testSecret))
		mac.Write(body)
		want := mac.Sum(nil)
		decoded, err := base64.StdEncoding.DecodeString(sig)
		valid := err == nil && hmac.Equal(decoded, want)

		w := h.post(body, sig)
		switch {
		case valid && w.Code == http.StatusUnauthorized:
			t.Fatalf("signature %q is the body's MAC but was refused", sig)
		case !valid && w.Code != http.StatusUnauthorized:
			t.Fatalf("signature %q is not the body's MAC but got %d", sig, w.Code)
		case !valid && len(h.rec.Events()) > 0:
			t.Fatalf("a refused request dispatched %d events", len(h.rec.Events()))
		}

		good := base64.StdEncoding.EncodeToString(want)
		h.rec.reset()
		if w := h.post(body, good); w.Code == http.StatusUnauthorized {
			t.Fatalf("the body's own signature was refused")
		}
		if len(body) == 0 {
			return
		}
		tampered := bytes.Clone(body)
		tampered[int(flip%uint(len(body)))] ^= 1 << (flip / uint(len(body)) % 8)
		h.rec.reset()
		if w := h.post(tampered, good); w.Code != http.StatusUnauthorized || len(h.rec.Events()) > 0 {
			t.Fatalf("a tampered body passed with the original signature: %d", w.Code)
		}
	})
}
