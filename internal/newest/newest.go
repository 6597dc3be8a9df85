// Package newest defines the one order of entry versions: newest first,
// by created time, ties broken by the larger digest so that every reader
// (the store's listing, each trust backend's verified set) agrees on which
// version is "the newest".
package newest

import (
	"fmt"
	"strings"
	"time"
)

// Compare orders (created, digest) pairs newest first, for slices.SortFunc:
// negative when a comes before b.
func Compare(aCreated time.Time, aDigest string, bCreated time.Time, bDigest string) int {
	if c := bCreated.Compare(aCreated); c != 0 {
		return c
	}
	switch {
	case aDigest > bDigest:
		return -1
	case aDigest < bDigest:
		return 1
	}
	return 0
}

// Parse reads a created time as RFC 3339 writes it (a date, "T", a time of
// day, an optional fraction, then "Z" or a ±hh:mm offset) and returns it in
// UTC. time.Parse alone is lenient where RFC 3339 is not: it takes a
// one-digit hour ("2026-01-01T0:00:00Z"), so the shape is checked here and
// time.Parse checks the ranges (month 1–12, the days of that month, …).
// Every reader of a created time (the store's listing, each trust backend)
// goes through this one rule, so no two of them read the same hostile
// annotation differently.
func Parse(s string) (time.Time, error) {
	if !rfc3339Shape(s) {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (want 2006-01-02T15:04:05Z, with an optional fraction and a ±hh:mm offset instead of Z)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// rfc3339Shape reports whether s has RFC 3339's fixed-width fields ("d"
// below is an ASCII digit, every other byte itself) and a valid offset.
func rfc3339Shape(s string) bool {
	match := func(s, pattern string) bool {
		if len(s) != len(pattern) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if pattern[i] == 'd' {
				if s[i] < '0' || s[i] > '9' {
					return false
				}
			} else if s[i] != pattern[i] {
				return false
			}
		}
		return true
	}
	const dateTime = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(dateTime) || !match(s[:len(dateTime)], dateTime) {
		return false
	}
	rest := s[len(dateTime):]
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 { // one to nine digits, as time.RFC3339Nano writes
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	// A ±hh:mm offset, hh 00–23 and mm 00–59 (time.Parse takes ":60").
	return len(rest) == len("+00:00") && (rest[0] == '+' || rest[0] == '-') && match(rest[1:], "dd:dd") &&
		rest[1:3] <= "23" && rest[4:6] <= "59"
}
