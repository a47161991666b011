package username

import "testing"

// uid 0 is root in any user database; a uid with no name is its number.
func TestLookup(t *testing.T) {
	if n := Lookup(0); n != "root" {
		t.Errorf("Lookup(0) = %q", n)
	}
	if n := Lookup(3999999999); n != "3999999999" {
		t.Errorf("Lookup(3999999999) = %q", n)
	}
}

func TestCache(t *testing.T) {
	calls := 0
	c := NewCache(func(uid uint32) string {
		calls++
		return map[uint32]string{1000: "alice"}[uid]
	})
	for range 3 {
		if n := c.Name(1000); n != "alice" {
			t.Fatalf("Name(1000) = %q", n)
		}
		if n := c.Name(7); n != "" {
			t.Fatalf("Name(7) = %q, want what the lookup said", n)
		}
	}
	if calls != 2 {
		t.Errorf("%d lookups for 2 uids", calls)
	}
	if n := NewCache(nil).Name(0); n != "root" {
		t.Errorf("default lookup: Name(0) = %q", n)
	}
}
