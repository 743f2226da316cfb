package handoff

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carebot/carebot/store"
	"golang.org/x/crypto/bcrypt"
)

// The suite hashes many passwords; the minimum cost keeps it fast. The
// production default is checked in TestAccountHashUsesDefaultCost.
func init() { bcryptCost = bcrypt.MinCost }

var acctT0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// acctTestStore opens a fresh database in a temporary directory.
func acctTestStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "carebot.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func TestAccountRoles(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Role
		ok   bool
	}{
		{"agent", RoleAgent, true},
		{" Supervisor ", RoleSupervisor, true},
		{"ADMIN", RoleAdmin, true},
		{"root", "", false},
		{"", "", false},
	} {
		got, err := ParseRole(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRole(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidAccount) {
			t.Errorf("ParseRole(%q) error %v is not ErrInvalidAccount", tc.in, err)
		}
	}
	for _, tc := range []struct {
		r, min Role
		want   bool
	}{
		{RoleAdmin, RoleAgent, true},
		{RoleAdmin, RoleSupervisor, true},
		{RoleAdmin, RoleAdmin, true},
		{RoleSupervisor, RoleAgent, true},
		{RoleSupervisor, RoleAdmin, false},
		{RoleAgent, RoleAgent, true},
		{RoleAgent, RoleSupervisor, false},
		{"root", RoleAgent, false},
		{"", RoleAgent, false},
		{RoleAdmin, "bogus", false},
	} {
		if got := tc.r.AtLeast(tc.min); got != tc.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tc.r, tc.min, got, tc.want)
		}
	}
}

func TestAccountAddValidates(t *testing.T) {
	st, _ := acctTestStore(t)
	for _, tc := range []struct {
		name, password string
		role           Role
	}{
		{"", "long enough", RoleAgent},
		{strings.Repeat("a", 65), "long enough", RoleAgent},
		{"has space", "long enough", RoleAgent},
		{"slash/name", "long enough", RoleAgent},
		{"-flag", "long enough", RoleAgent},
		{".hidden", "long enough", RoleAgent},
		{"semi;colon", "long enough", RoleAgent},
		{"alice", "short", RoleAgent},
		{"alice", strings.Repeat("p", 73), RoleAgent},
		{"alice", "long enough", "root"},
	} {
		err := st.Update(func(tx store.Tx) error {
			_, err := AddAccount(tx, tc.name, tc.role, tc.password, acctT0)
			return err
		})
		if !errors.Is(err, ErrInvalidAccount) {
			t.Errorf("AddAccount(%q, %q, %d-byte password) = %v, want ErrInvalidAccount", tc.name, tc.role, len(tc.password), err)
		}
	}
	// Letters of any script, digits, '.', '_', '-' are fine; 64 is the limit.
	for _, name := range []string{"王芳", "li.na_2-b", strings.Repeat("x", 64)} {
		if err := st.Update(func(tx store.Tx) error {
			_, err := AddAccount(tx, name, RoleAgent, "correct horse", acctT0)
			return err
		}); err != nil {
			t.Errorf("AddAccount(%q): %v", name, err)
		}
	}
	err := st.Update(func(tx store.Tx) error {
		_, err := AddAccount(tx, "王芳", RoleAdmin, "another password", acctT0)
		return err
	})
	if !errors.Is(err, ErrAccountExists) || !strings.Contains(err.Error(), "--reset") {
		t.Errorf("adding a taken name: %v", err)
	}
}

func TestAccountSetPasswordAndGet(t *testing.T) {
	st, _ := acctTestStore(t)
	err := st.Update(func(tx store.Tx) error {
		if _, err := AddAccount(tx, "alice", RoleAgent, "first password", acctT0); err != nil {
			return err
		}
		_, err := SetPassword(tx, "alice", RoleSupervisor, "second password", acctT0.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(func(tx store.Tx) error {
		acct, ok, err := GetAccount(tx, "alice")
		if err != nil || !ok {
			t.Fatalf("GetAccount: %v %v", ok, err)
		}
		if acct.Role != RoleSupervisor || !acct.Created.Equal(acctT0) || !acct.Updated.Equal(acctT0.Add(time.Hour)) {
			t.Errorf("after reset: %+v", acct)
		}
		rec, _, _ := getRecord(tx, "alice")
		if bcrypt.CompareHashAndPassword([]byte(rec.Hash), []byte("second password")) != nil {
			t.Error("new password does not match the stored hash")
		}
		if _, ok, _ := GetAccount(tx, "nobody"); ok {
			t.Error("GetAccount found a missing account")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx store.Tx) error {
		_, err := SetPassword(tx, "nobody", RoleAgent, "some password", acctT0)
		return err
	})
	if !errors.Is(err, ErrNoAccount) {
		t.Errorf("reset of a missing account: %v", err)
	}
}

func TestAccountListNeverShowsTheHash(t *testing.T) {
	st, _ := acctTestStore(t)
	var list []Account
	err := st.Update(func(tx store.Tx) error {
		for _, n := range []string{"carol", "alice", "bob"} {
			if _, err := AddAccount(tx, n, RoleAgent, "password "+n, acctT0); err != nil {
				return err
			}
		}
		var err error
		list, err = ListAccounts(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "alice,bob,carol" {
		t.Errorf("ListAccounts order: %v", names)
	}
	out, _ := json.Marshal(list)
	if bytes.Contains(out, []byte("$2a$")) || bytes.Contains(out, []byte("hash")) {
		t.Errorf("serialised accounts leak the hash: %s", out)
	}
}

func TestAccountHashUsesDefaultCost(t *testing.T) {
	saved := bcryptCost
	bcryptCost = bcrypt.DefaultCost
	defer func() { bcryptCost = saved }()
	h, err := HashPassword("a real password")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost([]byte(h)); cost != 10 {
		t.Errorf("production cost = %d, want 10", cost)
	}
}

func TestTokenStoresOnlyItsHash(t *testing.T) {
	st, _ := acctTestStore(t)
	var tok string
	err := st.Update(func(tx store.Tx) error {
		if _, err := AddAccount(tx, "alice", RoleAgent, "alice's password", acctT0); err != nil {
			return err
		}
		var err error
		tok, err = NewToken(tx, "alice", acctT0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 {
		t.Fatalf("token %q: want %s + 43 base64url characters (32 bytes)", tok, TokenPrefix)
	}
	secret := []byte(strings.TrimPrefix(tok, TokenPrefix))
	sum := sha256.Sum256([]byte(tok))
	err = st.View(func(tx store.Tx) error {
		var keys int
		for b := range store.Buckets() {
			_ = tx.Scan(b, nil, func(k, v []byte) error {
				if bytes.Contains(k, secret) || bytes.Contains(v, secret) {
					t.Errorf("bucket %s holds the token in clear", b)
				}
				if b == bucketTokens {
					keys++
					if !bytes.Equal(k, sum[:]) {
						t.Errorf("token key %x is not the token's SHA-256", k)
					}
				}
				return nil
			})
		}
		if keys != 1 {
			t.Errorf("%d token records, want 1", keys)
		}
		if name, ok, err := tokenOwner(tx, tok); err != nil || !ok || name != "alice" {
			t.Errorf("tokenOwner = %q %v %v", name, ok, err)
		}
		if _, ok, _ := tokenOwner(tx, tok+"x"); ok {
			t.Error("a changed token is accepted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx store.Tx) error {
		if _, err := NewToken(tx, "nobody", acctT0); !errors.Is(err, ErrNoAccount) {
			t.Errorf("token for a missing account: %v", err)
		}
		n, err := RevokeTokens(tx, "alice")
		if n != 1 || err != nil {
			t.Errorf("RevokeTokens = %d, %v", n, err)
		}
		if _, ok, _ := tokenOwner(tx, tok); ok {
			t.Error("revoked token still accepted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
