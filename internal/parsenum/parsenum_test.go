package parsenum

import (
	"strconv"
	"testing"
)

func TestHexDec(t *testing.T) {
	for _, tc := range []struct {
		in    string
		hex   uint64
		hexN  int
		hexOK bool
		dec   uint64
		decN  int
		decOK bool
	}{
		{"", 0, 0, false, 0, 0, false},
		{"0", 0, 1, true, 0, 1, true},
		{"0277", 0x277, 4, true, 277, 4, true},
		{"0100007F", 0x100007f, 8, true, 100007, 7, false},
		{"1c24 (7204)", 0x1c24, 4, false, 1, 1, false},
		{"ffffffffffffffff", 1<<64 - 1, 16, true, 0, 0, false},
		{"10000000000000000", 1 << 60, 16, false, 10000000000000000, 17, true},
		{"18446744073709551615", 0x1844674407370955, 16, false, 1<<64 - 1, 20, true},
		{"18446744073709551616", 0x1844674407370955, 16, false, 1844674407370955161, 19, false},
		{"-1", 0, 0, false, 0, 0, false},
		{"zz", 0, 0, false, 0, 0, false},
	} {
		if v, n := HexPrefix([]byte(tc.in)); v != tc.hex || n != tc.hexN {
			t.Errorf("HexPrefix(%q) = %#x, %d; want %#x, %d", tc.in, v, n, tc.hex, tc.hexN)
		}
		if v, ok := Hex([]byte(tc.in)); ok != tc.hexOK || (ok && v != tc.hex) {
			t.Errorf("Hex(%q) = %#x, %v; want ok=%v", tc.in, v, ok, tc.hexOK)
		}
		if v, n := DecPrefix([]byte(tc.in)); v != tc.dec || n != tc.decN {
			t.Errorf("DecPrefix(%q) = %d, %d; want %d, %d", tc.in, v, n, tc.dec, tc.decN)
		}
		if v, ok := Dec([]byte(tc.in)); ok != tc.decOK || (ok && v != tc.dec) {
			t.Errorf("Dec(%q) = %d, %v; want ok=%v", tc.in, v, ok, tc.decOK)
		}
	}
	b := []byte("ffff8881c4693780")
	if a := testing.AllocsPerRun(100, func() { Hex(b); Dec(b) }); a != 0 {
		t.Errorf("%v allocations, want 0", a)
	}
}

// FuzzParse: Hex and Dec agree with strconv on every input they accept, and
// accept every input strconv does that fits their limits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "0277", "ffffffffffffffff", "18446744073709551615", "1c24 (7204)", "-1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		if v, ok := Dec(b); ok {
			if w, err := strconv.ParseUint(s, 10, 64); err != nil || w != v {
				t.Fatalf("Dec(%q) = %d, strconv %d %v", s, v, w, err)
			}
		} else if w, err := strconv.ParseUint(s, 10, 64); err == nil && s[0] != '+' {
			t.Fatalf("Dec(%q) failed, strconv %d", s, w)
		}
		if v, ok := Hex(b); ok {
			if w, err := strconv.ParseUint(s, 16, 64); err != nil || w != v {
				t.Fatalf("Hex(%q) = %#x, strconv %#x %v", s, v, w, err)
			}
		} else if w, err := strconv.ParseUint(s, 16, 64); err == nil && len(s) <= 16 && s[0] != '+' {
			t.Fatalf("Hex(%q) failed, strconv %#x", s, w)
		}
		if _, n := HexPrefix(b); n > len(b) || n > 16 {
			t.Fatalf("HexPrefix(%q) read %d bytes", s, n)
		}
		if _, n := DecPrefix(b); n > len(b) {
			t.Fatalf("DecPrefix(%q) read %d bytes", s, n)
		}
	})
}
