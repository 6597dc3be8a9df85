package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/policy"
	"github.com/manifesto-dev/manifesto/store"
)

// OpCheck judges the image against a policy (Request.Policy).
const OpCheck = "check"

// CheckResult is what check decided.
type CheckResult struct {
	// Passed is true when every requirement was met.
	Passed bool
	// Requirements are the verdicts, in the policy's order.
	Requirements []RequirementResult
}

// RequirementResult is the verdict on one requirement and the version it
// was judged on (Digest "" when there was none).
type RequirementResult struct {
	Key    string
	Expr   string
	MaxAge string
	Passed bool
	// Reason says why it failed; "" when it passed.
	Reason   string
	Digest   string
	Created  time.Time
	Verified bool
	Signer   string
}

// Failed are the keys whose requirement failed, each once, in order.
func (c *CheckResult) Failed() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Requirements {
		if !r.Passed && !seen[r.Key] {
			seen[r.Key] = true
			out = append(out, r.Key)
		}
	}
	return out
}

// errValueTooLarge stops reading a value past policy.MaxValueSize.
var errValueTooLarge = errors.New("value too large for policy evaluation")

// cappedBuffer keeps at most max bytes and fails the write past them.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errValueTooLarge
	}
	return b.Buffer.Write(p)
}

// check judges each requirement on the newest version of its key: with
// verify, the newest version the trusted signer vouches for (the same path
// as a verified get), else the newest readable one (as get). A registry or
// trust failure is an error; a requirement not met is a verdict, and the
// check then fails with errdef.ErrPolicyNotMet.
func check(ctx context.Context, t *store.Target, tb trustBackend, repo string, verify bool, req Request, env Env, res *Result) error {
	if req.Policy == nil || len(req.Policy.Requirements) == 0 {
		return errdef.Usagef("check needs at least one requirement (--policy or --require)")
	}
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	at := now()
	// Which keys need their value read: those with a requirement whose
	// expression uses it.
	needValue := map[string]bool{}
	for i := range req.Policy.Requirements {
		r := &req.Policy.Requirements[i]
		needValue[r.Key] = needValue[r.Key] || r.NeedsValue()
	}
	versions := map[string]*policy.Version{}
	out := &CheckResult{Passed: true}
	img := policy.Subject{Digest: res.Subject, Reference: req.Image}
	for i := range req.Policy.Requirements {
		r := &req.Policy.Requirements[i]
		v, done := versions[r.Key]
		if !done {
			var err error
			if v, err = newestVersion(ctx, t, tb, repo, verify, r.Key, needValue[r.Key], res); err != nil {
				return fmt.Errorf("key %s: %w", r.Key, err)
			}
			versions[r.Key] = v
		}
		verdict := r.Judge(ctx, v, img, verify, at)
		rr := RequirementResult{Key: r.Key, Expr: r.Expr, MaxAge: r.MaxAgeText, Passed: verdict.Passed, Reason: verdict.Reason}
		if v != nil {
			rr.Digest, rr.Created, rr.Verified, rr.Signer = v.Digest, v.Created, v.Verified, v.Signer
		}
		out.Requirements = append(out.Requirements, rr)
		out.Passed = out.Passed && verdict.Passed
	}
	res.Check, res.Found = out, true
	if !out.Passed {
		failed := out.Failed()
		n := 0
		for _, r := range out.Requirements {
			if !r.Passed {
				n++
			}
		}
		return errdef.WithClass(fmt.Errorf("policy not met on %s: %d of %d requirements failed (%s)",
			res.Subject, n, len(out.Requirements), strings.Join(failed, ", ")), errdef.ErrPolicyNotMet)
	}
	return nil
}

// newestVersion finds the newest (verified) version of key, nil when there
// is none, and reads its value when withValue, at most
// policy.MaxValueSize bytes of it.
func newestVersion(ctx context.Context, t *store.Target, tb trustBackend, repo string, verify bool, key string, withValue bool, res *Result) (*policy.Version, error) {
	var e store.Entry
	var signer string
	if verify {
		entries, signers, err := verified(ctx, tb, t, repo, key, res)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, nil
		}
		e, signer = entries[0], signers[entries[0].Digest]
	} else {
		history, err := t.History(ctx, key)
		if err != nil {
			return nil, err
		}
		if len(history) == 0 {
			return nil, nil
		}
		e = history[0]
	}
	v := &policy.Version{Key: key, Digest: e.Digest, MediaType: e.MediaType, Size: e.Size,
		Created: e.Created, Verified: verify, Signer: signer}
	if withValue {
		if e.Size > policy.MaxValueSize {
			v.Unreadable = tooLarge(e.Size)
		} else {
			// Read as get does: by the signed digest when verified (which
			// checks every byte), else the newest readable version.
			digest := ""
			if verify {
				digest = e.Digest
			}
			buf := &cappedBuffer{max: policy.MaxValueSize}
			read, err := t.Read(ctx, key, digest, buf)
			switch {
			case errors.Is(err, errValueTooLarge):
				v.Unreadable = tooLarge(read.Size)
			case errors.Is(err, errdef.ErrNotFound):
				return nil, nil // every listed version is gone
			case err != nil:
				return nil, err
			default:
				v.Value = buf.Bytes()
				v.Digest, v.MediaType, v.Size = read.Digest, read.MediaType, read.Size
				if !verify {
					v.Created = read.Created
				}
			}
		}
	}
	// Before the value is parsed by it or an expression sees it.
	checkMediaType(res, v.Digest, key, &v.MediaType)
	return v, nil
}

func tooLarge(size int64) string {
	if size > 0 {
		return fmt.Sprintf("value is %d bytes, over the %d KiB limit for policy evaluation", size, policy.MaxValueSize>>10)
	}
	return fmt.Sprintf("value is over the %d KiB limit for policy evaluation", policy.MaxValueSize>>10)
}
