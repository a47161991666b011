// Package parsenum parses the unsigned hexadecimal and decimal numbers that
// the kernel prints in /proc and tracefs files, straight from the bytes read.
//
// strconv would need a string per number and reports failures with an
// allocated error; these parsers run on every row of a socket table and on
// every event line, so they take byte slices, never allocate, and also parse
// a number at the start of a longer field ("0x1c24 (7204)"), which strconv
// cannot.
package parsenum

// HexPrefix parses the hexadecimal digits (either case) at the start of b,
// as many as fit in 64 bits (16), and returns the value and how many bytes
// it read (0 if b does not start with a digit).
func HexPrefix(b []byte) (v uint64, n int) {
	for n < len(b) && n < 16 {
		c := b[n]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint64(c-'A'+10)
		default:
			return v, n
		}
		n++
	}
	return v, n
}

// DecPrefix parses the decimal digits at the start of b, as many as keep
// the value within 64 bits, and returns the value and how many bytes it
// read (0 if b does not start with a digit).
func DecPrefix(b []byte) (v uint64, n int) {
	for n < len(b) {
		c := b[n]
		if c < '0' || c > '9' {
			break
		}
		d := uint64(c - '0')
		if v > (^uint64(0)-d)/10 {
			break // one more digit would overflow
		}
		v = v*10 + d
		n++
	}
	return v, n
}

// Hex parses b, which must be one to sixteen hexadecimal digits and nothing
// else.
func Hex(b []byte) (uint64, bool) {
	v, n := HexPrefix(b)
	return v, n > 0 && n == len(b)
}

// Dec parses b, which must be a decimal number below 2^64 and nothing else.
func Dec(b []byte) (uint64, bool) {
	v, n := DecPrefix(b)
	return v, n > 0 && n == len(b)
}
