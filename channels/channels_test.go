package channels

import (
	"context"
	"errors"
	"testing"
	"time"
)

type named string

func (n named) Name() string                       { return string(n) }
func (named) Send(context.Context, Outbound) error { return nil }

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	for _, n := range []string{"webchat", "line"} {
		if err := r.Register(named(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register(named("line")); err == nil {
		t.Fatal("duplicate name accepted")
	}
	if _, ok := r.Get("line"); !ok {
		t.Fatal("registered channel not found")
	}
	if _, ok := r.Get("telegram"); ok {
		t.Fatal("unregistered channel found")
	}
	if got := r.Names(); len(got) != 2 || got[0] != "line" || got[1] != "webchat" {
		t.Fatalf("names %v", got)
	}
}

func TestErrorKinds(t *testing.T) {
	base := errors.New("403 blocked")
	if err := Permanent(base); !errors.Is(err, ErrPermanent) || !errors.Is(err, base) {
		t.Fatalf("Permanent loses its kind or cause: %v", err)
	}
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) is not nil")
	}
	var ra *RetryAfterError
	err := error(&RetryAfterError{After: 3 * time.Second, Err: base})
	if !errors.As(err, &ra) || ra.After != 3*time.Second || !errors.Is(err, base) {
		t.Fatalf("RetryAfterError: %v", err)
	}
}
