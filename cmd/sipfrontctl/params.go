package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseParams types command-line parameters like kamcmd: a decimal integer
// (optional sign, fits 64 bits) becomes a JSON number, "s:VALUE" is the string
// VALUE, "i:VALUE" must be an integer, anything else is a string. kamcmd also
// sends "1.5" as a double; sipfront has no method taking one, so it stays a
// string here.
func parseParams(args []string) ([]any, error) {
	params := make([]any, 0, len(args))
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "s:"):
			params = append(params, a[2:])
		case strings.HasPrefix(a, "i:"):
			n, ok := parseInt(a[2:])
			if !ok {
				return nil, fmt.Errorf("parameter %d: %q is not an integer", i+1, a)
			}
			params = append(params, n)
		default:
			if n, ok := parseInt(a); ok {
				params = append(params, n)
			} else {
				params = append(params, a)
			}
		}
	}
	return params, nil
}

// parseInt accepts what kamcmd's strtol accepts in full, minus leading
// spaces: an optional sign and decimal digits.
func parseInt(s string) (int64, bool) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	return n, err == nil
}
