package report

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// scanner reads one JSON text (RFC 8259, as encoding/json accepts it) in
// place: strings are found and checked but not built, values not needed are
// skipped without being built, whole numbers are read as they are scanned.
// It stops at the first syntax error, kept in err.
type scanner struct {
	b     []byte
	i     int
	err   string // the first syntax error, "" while there is none
	stack []byte // the closing brackets of the containers skip is in
}

// maxDepth is encoding/json's limit of nested arrays and objects.
const maxDepth = 10000

// The words of 8 bytes that specials compares with.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specials returns x (8 bytes of a string, little endian) with the high bit
// set in the bytes that end a string's plain run: '"', '\\' and the control
// characters below 0x20 that JSON does not allow raw. Borrows may set bits
// above a byte that is one, so only the lowest set bit is exact.
func specials(x uint64) uint64 {
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
}

// plainEnd returns the index of the first '"', '\\' or control character
// at or after i, or len(b).
func plainEnd(b []byte, i int) int {
	for ; i+16 <= len(b); i += 16 {
		m1, m2 := specials(binary.LittleEndian.Uint64(b[i:])), specials(binary.LittleEndian.Uint64(b[i+8:]))
		if m1 != 0 {
			return i + bits.TrailingZeros64(m1)>>3
		}
		if m2 != 0 {
			return i + 8 + bits.TrailingZeros64(m2)>>3
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if m := specials(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

func (s *scanner) fail(msg string) bool {
	if s.err == "" {
		s.err = msg + " at byte " + strconv.Itoa(s.i+1)
	}
	return false
}

// ws skips white space and returns the byte after it (0 at the end).
func (s *scanner) ws() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i]
	}
	return s.wsSlow()
}

func (s *scanner) wsSlow() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// str reads the string at s.i (its opening quote): its contents are
// s.b[start:end], raw; esc says whether it has escapes.
func (s *scanner) str() (start, end int, esc, ok bool) {
	b := s.b
	i := s.i + 1
	start = i
	for {
		i = plainEnd(b, i)
		if i >= len(b) {
			s.i = i
			return 0, 0, false, s.fail("unterminated string")
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return start, i, esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				s.i = i
				return 0, 0, false, s.fail("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					s.i = i
					return 0, 0, false, s.fail("invalid \\u escape in string")
				}
				i += 6
			default:
				s.i = i
				return 0, 0, false, s.fail("invalid escape in string")
			}
		default:
			s.i = i
			return 0, 0, false, s.fail("control character in string")
		}
	}
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// number reads the number at s.i. whole says it is a run of digits (no
// sign, fraction or exponent) whose value fits in v.
func (s *scanner) number() (v uint64, whole, ok bool) {
	b, i := s.b, s.i
	whole = true
	if i < len(b) && b[i] == '-' {
		whole = false
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i]-'1' < 9:
		start := i
		for ; i < len(b) && b[i]-'0' < 10; i++ {
			v = v*10 + uint64(b[i]-'0')
		}
		if i-start > 19 {
			// Up to 19 digits cannot overflow; more may: read again.
			v = 0
			for _, c := range b[start:i] {
				d := uint64(c - '0')
				if v > (1<<64-1-d)/10 {
					whole = false // overflows: still a number
				}
				v = v*10 + d
			}
		}
	default:
		s.i = i
		return 0, false, s.fail("invalid number")
	}
	if i < len(b) && b[i] == '.' { // a fraction: digits
		whole = false
		if i = digits(b, i+1); i < 0 {
			return 0, false, s.fail("invalid number")
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' { // an exponent: a sign, digits
		whole = false
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(b, i); i < 0 {
			return 0, false, s.fail("invalid number")
		}
	}
	s.i = i
	return v, whole, true
}

// digits returns the end of the digits at b[i:], or -1 when there are none.
func digits(b []byte, i int) int {
	start := i
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// lit passes over word when it is at s.i, exactly.
func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// literal reads true, false or null, whichever word is at s.i.
func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return true
}

// The types of JSON values, as the first byte tells them.
const (
	typeNone byte = iota // not a value
	typeString
	typeNumber
	typeObject
	typeArray
	typeTrue
	typeFalse
	typeNull
)

var typeNames = [...]string{typeNone: "nothing", typeString: "string", typeNumber: "number", typeObject: "object",
	typeArray: "array", typeTrue: "true", typeFalse: "false", typeNull: "null"}

// typeOf returns the type of the value starting with c.
func typeOf(c byte) byte {
	switch c {
	case '"':
		return typeString
	case '{':
		return typeObject
	case '[':
		return typeArray
	case 't':
		return typeTrue
	case 'f':
		return typeFalse
	case 'n':
		return typeNull
	}
	if c == '-' || c-'0' < 10 {
		return typeNumber
	}
	return typeNone
}

// skip checks and passes over the value at s.i (white space before it
// skipped already), depth being the number of containers it is in.
func (s *scanner) skip(depth int) bool {
	st := s.stack[:0]
	defer func() { s.stack = st[:0] }()
	for {
		// A value.
		switch s.b[s.i] {
		case '"':
			if _, _, _, ok := s.str(); !ok {
				return false
			}
		case '{', '[':
			c := s.b[s.i]
			if depth+len(st) >= maxDepth {
				return s.fail("exceeded max depth")
			}
			st = append(st, c+2) // '}' or ']'
			s.i++
			if n := s.ws(); n == c+2 {
				s.i++
				st = st[:len(st)-1]
				break
			}
			if c == '{' && !s.key() {
				return false
			}
			if s.ws() == 0 {
				return s.fail("unexpected end")
			}
			continue
		case 't':
			if !s.literal("true") {
				return false
			}
		case 'f':
			if !s.literal("false") {
				return false
			}
		case 'n':
			if !s.literal("null") {
				return false
			}
		default:
			if _, _, ok := s.number(); !ok {
				return false
			}
		}
		// After a value: the end of its containers, or a comma.
		for {
			if len(st) == 0 {
				return true
			}
			c := s.ws()
			if c == ',' {
				s.i++
				if st[len(st)-1] == '}' && !s.key() {
					return false
				}
				if s.ws() == 0 {
					return s.fail("unexpected end")
				}
				break
			}
			if c != st[len(st)-1] {
				return s.fail("expected ',' or '" + string(st[len(st)-1]) + "'")
			}
			s.i++
			st = st[:len(st)-1]
		}
	}
}

// key passes over an object's key and its colon, white space before it
// included.
func (s *scanner) key() bool {
	if s.ws() != '"' {
		return s.fail("expected a key")
	}
	if _, _, _, ok := s.str(); !ok {
		return false
	}
	if s.ws() != ':' {
		return s.fail("expected ':'")
	}
	s.i++
	return true
}
