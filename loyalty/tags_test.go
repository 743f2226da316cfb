package loyalty

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/carebot/carebot/store"
)

func TestSetTagsAndEachProfile(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("tag-a"), h.member("tag-b")
	h.do(func(tx store.Tx) error {
		return h.p.SetTags(tx, a.ID, []string{" 宝妈群 ", "VIP-event", "vip-event"})
	})
	var got *Member
	h.do(func(tx store.Tx) error { var err error; got, err = h.p.Member(tx, a.ID); return err })
	if !slices.Equal(got.Tags, []string{"宝妈群", "VIP-event"}) {
		t.Fatalf("tags = %q", got.Tags)
	}
	for _, bad := range [][]string{{""}, {"a,b"}, {strings.Repeat("长", 33)}, {"x\x00"}} {
		err := h.st.Update(func(tx store.Tx) error { return h.p.SetTags(tx, a.ID, bad) })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("SetTags(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = strings.Repeat("t", i+1)
	}
	if err := h.st.Update(func(tx store.Tx) error { return h.p.SetTags(tx, a.ID, many) }); !errors.Is(err, ErrInvalid) {
		t.Errorf("21 tags: %v", err)
	}
	// EachProfile gives every member with its tier and the stage Stage
	// computes.
	seen := map[string]string{}
	h.do(func(tx store.Tx) error {
		return h.p.EachProfile(tx, func(id, tier, stage string) error {
			m, err := h.p.Member(tx, id)
			if err != nil {
				return err
			}
			if tier != m.Tier || stage != h.p.Stage(m) {
				t.Errorf("%s: profile %s/%s, member %s/%s", id, tier, stage, m.Tier, h.p.Stage(m))
			}
			seen[id] = stage
			return nil
		})
	})
	if len(seen) != 2 || seen[a.ID] == "" || seen[b.ID] == "" {
		t.Fatalf("profiles = %v", seen)
	}
}
