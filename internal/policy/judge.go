package policy

import (
	"context"
	"fmt"
	"time"
)

// Version is the newest (verified) version of a requirement's key, as
// package steps found it.
type Version struct {
	Key       string
	Digest    string
	MediaType string
	// Size is the value's size in bytes; -1 when not known.
	Size     int64
	Created  time.Time
	Verified bool
	Signer   string
	// Value is the value's bytes, read when the requirement needs them
	// (NeedsValue) and at most MaxValueSize long.
	Value []byte
	// Unreadable says why Value could not be read (too large, say); the
	// requirement then fails with it when it needs the value.
	Unreadable string
}

// Subject is the image the check is about.
type Subject struct {
	Digest    string
	Reference string
}

// Verdict is the judgement of one requirement.
type Verdict struct {
	Passed bool
	// Reason says why a requirement failed ("" when it passed).
	Reason string
}

// Judge decides r on v, the newest (verified, when verified is true) version
// of its key, nil when there is none. now is the time max_age and `now` are
// measured against.
func (r *Requirement) Judge(ctx context.Context, v *Version, img Subject, verified bool, now time.Time) Verdict {
	if v == nil {
		if verified {
			return Verdict{Reason: "no verified version"}
		}
		return Verdict{Reason: "no version"}
	}
	if r.MaxAge > 0 {
		if age := now.Sub(v.Created); age > r.MaxAge {
			return Verdict{Reason: fmt.Sprintf("newest version is %s old, max_age %s", Age(age), r.MaxAgeText)}
		}
	}
	if r.Expr == "" {
		return Verdict{Passed: true}
	}
	if r.prg == nil {
		if err := r.compile(); err != nil {
			return Verdict{Reason: err.Error()}
		}
	}
	vars := map[string]any{
		varEntry: map[string]any{
			"key": v.Key, "digest": v.Digest, "created": v.Created, "media_type": v.MediaType,
			"size": v.Size, "verified": v.Verified, "signer": v.Signer,
		},
		varImage: map[string]string{"digest": img.Digest, "reference": img.Reference},
		varNow:   now,
		varValue: nil,
	}
	if r.usesValue {
		if v.Unreadable != "" {
			return Verdict{Reason: v.Unreadable}
		}
		val, err := Decode(v.MediaType, v.Value)
		if err != nil {
			return Verdict{Reason: err.Error()}
		}
		vars[varValue] = val
	}
	ok, why := r.eval(ctx, vars)
	return Verdict{Passed: ok, Reason: why}
}

// Age is an age the way a reason shows it, in whole units: days from two
// days on ("4d"), hours from two hours ("30h"), minutes, seconds.
func Age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= 2*time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
