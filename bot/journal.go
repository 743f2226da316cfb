package bot

import (
	"fmt"
	"time"

	"github.com/carebot/carebot/channels/webchat"
	"github.com/carebot/carebot/store"
)

// Buckets of the web chat journal.
var (
	bucketWebSessions = store.RegisterBucket("bot", "webchat_sessions") // session → webSession
	bucketWebJournal  = store.RegisterBucket("bot", "webchat_journal")  // session\0seq(8) → webchat.Message
	bucketWebKeys     = store.RegisterBucket("bot", "webchat_keys")     // session\0key → seq(8)
)

type webSession struct {
	Last    uint64    `json:"last"`
	Created time.Time `json:"created"`
}

// webJournal implements webchat.Journal over the store.
type webJournal struct{ store *store.Store }

var _ webchat.Journal = webJournal{}

func (j webJournal) Append(session string, msg webchat.Message) (webchat.Message, bool, error) {
	created := false
	err := j.store.Update(func(tx store.Tx) error {
		created = false
		if msg.Key != "" {
			if seq := tx.Get(bucketWebKeys, store.Key(session, msg.Key)); seq != nil {
				found, err := store.GetJSON(tx, bucketWebJournal, append(store.Prefix(session), seq...), &msg)
				if err != nil || found {
					return err
				}
			}
		}
		var s webSession
		if _, err := store.GetJSON(tx, bucketWebSessions, []byte(session), &s); err != nil {
			return err
		}
		if s.Created.IsZero() {
			s.Created = msg.Time
		}
		s.Last++
		msg.Seq = s.Last
		if err := store.PutJSON(tx, bucketWebJournal, append(store.Prefix(session), store.U64(msg.Seq)...), msg); err != nil {
			return err
		}
		if msg.Key != "" {
			if err := tx.Put(bucketWebKeys, store.Key(session, msg.Key), store.U64(msg.Seq)); err != nil {
				return err
			}
		}
		created = true
		return store.PutJSON(tx, bucketWebSessions, []byte(session), s)
	})
	if err != nil {
		return webchat.Message{}, false, fmt.Errorf("append to web chat journal: %w", err)
	}
	return msg, created, nil
}

func (j webJournal) Since(session string, after uint64, limit int) ([]webchat.Message, error) {
	var out []webchat.Message
	start := append(store.Prefix(session), store.U64(after+1)...)
	end := append(store.Prefix(session), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	err := j.store.View(func(tx store.Tx) error {
		return tx.ScanRange(bucketWebJournal, start, end, collect(&out, limit))
	})
	if err != nil {
		return nil, fmt.Errorf("read web chat journal: %w", err)
	}
	return out, nil
}

func (j webJournal) Recent(session string, n int) ([]webchat.Message, error) {
	var out []webchat.Message
	err := j.store.View(func(tx store.Tx) error {
		return tx.ScanReverse(bucketWebJournal, store.Prefix(session), collect(&out, n))
	})
	if err != nil {
		return nil, fmt.Errorf("read web chat journal: %w", err)
	}
	for i, k := 0, len(out)-1; i < k; i, k = i+1, k-1 {
		out[i], out[k] = out[k], out[i]
	}
	return out, nil
}

func (j webJournal) Exists(session string) (bool, error) {
	var ok bool
	err := j.store.View(func(tx store.Tx) error {
		ok = tx.Get(bucketWebSessions, []byte(session)) != nil
		return nil
	})
	return ok, err
}

// collect returns a scan callback that decodes up to limit messages into out.
func collect(out *[]webchat.Message, limit int) func(k, v []byte) error {
	return func(_, v []byte) error {
		if len(*out) >= limit {
			return store.ErrStop
		}
		var m webchat.Message
		if err := store.DecodeJSON(v, &m); err != nil {
			return err
		}
		*out = append(*out, m)
		return nil
	}
}
