package bot

import (
	"fmt"

	"github.com/carebot/carebot/store"
)

// bucketChannelKV holds the adapters' cursors and small per-user state.
var bucketChannelKV = store.RegisterBucket("bot", "channel_kv")

// channelKV is channels.KV over the database, one key space per channel
// so two adapters can never overwrite each other's cursors.
type channelKV struct {
	st      *store.Store
	channel string
}

// Get returns the value under key, "" when unset.
func (k channelKV) Get(key string) (string, error) {
	var v string
	err := k.st.View(func(tx store.Tx) error {
		v = string(tx.Get(bucketChannelKV, store.Key(k.channel, key)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("%s state %q: %w", k.channel, key, err)
	}
	return v, nil
}

// Set stores value under key, durably, before returning.
func (k channelKV) Set(key, value string) error {
	err := k.st.Update(func(tx store.Tx) error {
		return tx.Put(bucketChannelKV, store.Key(k.channel, key), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("%s state %q: %w", k.channel, key, err)
	}
	return nil
}
