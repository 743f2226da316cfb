package loyalty

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/carebot/carebot/store"
)

// benchMembers creates n members, each with points to spend and an
// unlimited right that costs 10 points.
func benchMembers(b *testing.B, n int) (*harness, []string) {
	b.Helper()
	h := newHarness(b, nil)
	h.putRight(Right{ID: "bench", Kind: RightAmountOff, Name: map[string]string{"en": "bench"}, Value: 1, Cost: 10, Stock: -1, Active: true})
	ids := make([]string, n)
	h.do(func(tx store.Tx) error {
		for i := range ids {
			m, _, err := h.p.EnsureMember(tx, "webchat", fmt.Sprint("bench-", i))
			if err != nil {
				return err
			}
			if _, err := h.p.Adjust(tx, m.ID, 1_000_000_000, "bench", "bench"); err != nil {
				return err
			}
			ids[i] = m.ID
		}
		return nil
	})
	return h, ids
}

func reportTPS(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkEarn credits one order per transaction (store.Update: one
// commit and fsync each).
func BenchmarkEarn(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		order := fmt.Sprint("e", i)
		i++
		if err := h.st.Update(func(tx store.Tx) error {
			_, err := h.p.CreditOrder(tx, Order{ID: order, Member: id, Amount: 128})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	reportTPS(b)
}

// BenchmarkEarnBatch credits orders from many goroutines through
// store.Batch, which merges concurrent calls into one commit.
func BenchmarkEarnBatch(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id, order := ids[int(i)%len(ids)], fmt.Sprint("e", i)
			if err := h.st.Batch(func(tx store.Tx) error {
				_, err := h.p.CreditOrder(tx, Order{ID: order, Member: id, Amount: 128})
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportTPS(b)
}

// BenchmarkRedeem redeems a right per transaction: debit, stock count,
// coupon code and index in one commit.
func BenchmarkRedeem(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	i := 0
	for b.Loop() {
		id, key := ids[i%len(ids)], fmt.Sprint("r", i)
		i++
		if err := h.st.Update(func(tx store.Tx) error {
			_, _, err := h.p.Redeem(tx, id, "bench", key)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	reportTPS(b)
}

// BenchmarkRedeemBatch redeems from many goroutines through store.Batch.
func BenchmarkRedeemBatch(b *testing.B) {
	h, ids := benchMembers(b, 1000)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id, key := ids[int(i)%len(ids)], fmt.Sprint("r", i)
			if err := h.st.Batch(func(tx store.Tx) error {
				_, _, err := h.p.Redeem(tx, id, "bench", key)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportTPS(b)
}

// BenchmarkImportMember imports members 1,000 to a transaction, as
// `carebot member import` would.
func BenchmarkImportMember(b *testing.B) {
	h := newHarness(b, nil)
	const perTx = 1000
	n := 0
	b.ResetTimer()
	for n < b.N {
		h.do(func(tx store.Tx) error {
			for j := 0; j < perTx && n < b.N; j++ {
				row := ImportRow{ID: fmt.Sprintf("C%07d", n), Name: "Member", Phone: "13800138000", Birthday: "1990-01-01",
					Tier: "silver", Points: 1200, Channel: "webchat", ChannelUser: fmt.Sprint("s", n)}
				if _, err := h.p.ImportMember(tx, row); err != nil {
					return err
				}
				n++
			}
			return nil
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "members/s")
}
