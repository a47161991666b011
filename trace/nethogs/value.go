package nethogs

import (
	"math"
	"strconv"
	"strings"
)

// FormatValue formats v as nethogs prints its numbers: a single-precision
// float through C++ iostream's default format (%g, 6 significant digits).
func FormatValue(v float64) string {
	return string(AppendValue(nil, v))
}

// AppendValue is FormatValue appending to b.
func AppendValue(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, float64(float32(v)), 'g', 6, 64)
}

// parseValue parses a number as C++ iostreams print it (%g): not negative,
// and no larger than a float32 (nethogs's numbers are float32s), so that
// sums and rates stay finite.
func parseValue(s string) (float64, bool) {
	if s == "" || strings.TrimSpace(s) != s {
		return 0, false
	}
	// Reject Go-only syntax (hex floats, underscores, inf/nan words).
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v <= math.MaxFloat32) {
		return 0, false
	}
	return v, true
}
