package line

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/line/linetest"
)

func TestSendLinkButtonsAsURIActions(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-link")
	out := channels.Outbound{ID: 1, ChatID: testUser, ReplyToken: "tok-link", Text: "Where is my parcel?",
		Buttons: []channels.Button{
			{Label: "Track parcel", URL: "https://shop.example.com/track?o=1"},
			{Label: "Help", Payload: "help"},
			{URL: "https://shop.example.com/returns"}, // no label: the link, clipped
		}}
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	reqs := h.fake.Requests(linetest.PathReply)
	if len(reqs) != 1 || reqs[0].Status != http.StatusOK {
		t.Fatalf("replies %+v", reqs)
	}
	wire := decodeWire(t, reqs[0].Body)
	want := []map[string]any{
		{"type": "action", "action": map[string]any{"type": "uri", "label": "Track parcel", "uri": "https://shop.example.com/track?o=1"}},
		{"type": "action", "action": map[string]any{"type": "postback", "label": "Help", "data": "help", "displayText": "Help"}},
		{"type": "action", "action": map[string]any{"type": "uri", "label": "https://shop.example", "uri": "https://shop.example.com/returns"}},
	}
	if len(wire.Messages) != 1 || wire.Messages[0].Text != out.Text {
		t.Fatalf("messages %s", reqs[0].Body)
	}
	if got := wire.Messages[0].QuickReply.Items; !reflect.DeepEqual(got, want) {
		t.Errorf("items:\n got %v\nwant %v", got, want)
	}
}

// A link a URI action cannot carry is written into the text instead.
func TestSendLinkButtonsInText(t *testing.T) {
	long := "https://shop.example.com/?q=" + strings.Repeat("x", 1000)
	msgs, err := buildMessages("Read more  \n", []channels.Button{
		{Label: "Terms", URL: long},
		{Label: "Archive", URL: "ftp://files.example.com/terms.pdf"},
		{URL: "mailto:care@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := wireMessages(t, msgs)
	want := "Read more\n\nTerms: " + long + "\nArchive: ftp://files.example.com/terms.pdf\nmailto:care@example.com"
	if len(m) != 1 || m[0].Text != want || m[0].QuickReply != nil {
		t.Fatalf("messages %+v, want the links in the text and no quick reply", m)
	}
	// Mixed: the valid link stays a button.
	msgs, err = buildMessages("Pick", []channels.Button{{Label: "Bad", URL: "javascript:alert(1)"}, {Label: "Site", URL: "https://example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	m = wireMessages(t, msgs)
	if m[0].Text != "Pick\n\nBad: javascript:alert(1)" || len(m[0].QuickReply.Items) != 1 || m[0].QuickReply.Items[0].Action.URI != "https://example.com" {
		t.Fatalf("messages %+v", m)
	}
}

func wireMessages(t *testing.T, msgs any) []linetest.Message {
	t.Helper()
	b, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	var out []linetest.Message
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSendImageFirst(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-img")
	const pic = "https://cdn.example.com/parcel.jpg"
	out := channels.Outbound{ID: 2, ChatID: testUser, ReplyToken: "tok-img", Text: "Here it is", ImageURL: pic,
		Buttons: []channels.Button{{Label: "OK", Payload: "ok"}}}
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	d := h.fake.Deliveries()
	if len(d) != 1 || d[0].Via != "reply" || len(d[0].Messages) != 2 {
		t.Fatalf("deliveries %+v, want one reply of two messages", d)
	}
	img, txt := d[0].Messages[0], d[0].Messages[1]
	if img.Type != "image" || img.OriginalContentURL != pic || img.PreviewImageURL != pic || img.QuickReply != nil {
		t.Errorf("first message %+v, want the image", img)
	}
	if txt.Type != "text" || txt.Text != "Here it is" || txt.QuickReply == nil {
		t.Errorf("second message %+v, want the text with the quick reply", txt)
	}
}

// An image that LINE would refuse is left out; the text still goes.
func TestSendInvalidImageURLIsSkipped(t *testing.T) {
	h := newHarness(t)
	for i, pic := range []string{"http://cdn.example.com/a.jpg", "not a url", "https://cdn.example.com/" + strings.Repeat("a", 2000)} {
		if err := h.ch.Send(context.Background(), channels.Outbound{ID: uint64(10 + i), ChatID: testUser, Text: "hi", ImageURL: pic}); err != nil {
			t.Fatalf("%.40q: %v", pic, err)
		}
	}
	for _, d := range h.deliveries(t, 3) {
		if len(d.Messages) != 1 || d.Messages[0].Type != "text" {
			t.Errorf("delivery %+v, want the text only", d)
		}
	}
}

// The image takes one of the five places of the first request; a retry
// after a failed push neither repeats the reply (image included) nor
// reuses another batch's retry key.
func TestSendImageWithLongText(t *testing.T) {
	h := newHarness(t)
	h.receive(t, "tok-imglong")
	text := sentences(22000) // 5 text messages + the image = 6
	if n := len(splitText(text, maxTextLen)); n != 5 {
		t.Fatalf("%d parts, want 5", n)
	}
	h.fake.Fail(linetest.PathPush, linetest.Response{Status: 503})
	out := channels.Outbound{ID: 12, ChatID: testUser, ReplyToken: "tok-imglong", Text: text, ImageURL: "https://cdn.example.com/a.jpg"}
	if err := h.ch.Send(context.Background(), out); err == nil {
		t.Fatal("first attempt succeeded, want the 503")
	}
	out.ReplyToken = ""
	if err := h.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	var vias []string
	var texts []string
	d := h.fake.Deliveries()
	for _, x := range d {
		vias = append(vias, fmt.Sprintf("%s:%d", x.Via, len(x.Messages)))
		for _, m := range x.Messages {
			if m.Type == "text" {
				texts = append(texts, m.Text)
			}
		}
	}
	if want := []string{"reply:5", "push:1"}; !reflect.DeepEqual(vias, want) {
		t.Fatalf("deliveries %v, want %v", vias, want)
	}
	if d[0].Messages[0].Type != "image" {
		t.Errorf("first message %+v, want the image", d[0].Messages[0])
	}
	if d[1].RetryKey != retryKey(12, testUser, 1) {
		t.Errorf("push retry key %q, want the second batch's", d[1].RetryKey)
	}
	if strings.Join(texts, " ") != strings.TrimSpace(text) {
		t.Error("the text parts joined are not the text, in order")
	}
}

// The fake refuses what LINE refuses for images and URI actions.
func TestFakeValidatesImagesAndURIs(t *testing.T) {
	h := newHarness(t)
	for body, want := range map[string]string{
		`{"to":"U1","messages":[{"type":"image","originalContentUrl":"http://x.io/a.jpg","previewImageUrl":"https://x.io/a.jpg"}]}`:                               "originalContentUrl",
		`{"to":"U1","messages":[{"type":"image","originalContentUrl":"https://x.io/a.jpg"}]}`:                                                                     "previewImageUrl",
		`{"to":"U1","messages":[{"type":"text","text":"a","quickReply":{"items":[{"type":"action","action":{"type":"uri","label":"a","uri":"javascript:x"}}]}}]}`: "action.uri",
	} {
		req, _ := http.NewRequest(http.MethodPost, h.fake.URL+linetest.PathPush, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Details []struct{ Property string } `json:"details"`
		}
		_ = json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || len(e.Details) != 1 || !strings.HasSuffix(e.Details[0].Property, want) {
			t.Errorf("%s: status %d, details %+v; want 400 on %s", body, res.StatusCode, e.Details, want)
		}
	}
}
