package bot

import (
	"context"
	"fmt"
	"testing"

	"github.com/carebot/carebot/channels"
	"github.com/carebot/carebot/channels/webchat"
)

// BenchmarkDispatch measures one web chat message through dedupe, dialog,
// FAQ search and the store transaction (with its fsync), without delivery.
func BenchmarkDispatch(b *testing.B) {
	app, err := New(testConfig(b, b.TempDir()), WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	questions := []string{"运费怎么算", "退貨運費誰付", "How long does delivery take?", "可以开发票吗", "what payment methods do you take"}
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		ev := channels.Event{
			Channel: webchat.Name,
			ID:      fmt.Sprintf("bench-%d", i),
			ChatID:  fmt.Sprintf("bench-session-%d", i%100),
			Text:    questions[i%len(questions)],
		}
		if _, err := app.Engine().Dispatch(ctx, ev); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
