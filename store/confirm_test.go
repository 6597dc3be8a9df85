package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// TestConfirmRounds: the one confirmation loop reads until done, resends
// between reads, stops at putConfirmRounds reads, and never reports success
// for a last read that did not decide.
func TestConfirmRounds(t *testing.T) {
	t.Parallel()
	errRead := errors.New("read failed")
	errResend := errors.New("resend failed")
	for _, tc := range []struct {
		name string
		// doneAt: the read (1-based) that reports done; 0: none.
		doneAt    int
		failReads bool // every read fails
		failSend  bool // every resend fails
		// lastErr: on its last read, read returns this error
		// (nil: it returns neither done nor an error).
		lastErr     error
		wantReads   int
		wantResends int
		wantErr     error
	}{
		{name: "listed at once", doneAt: 1, wantReads: 1},
		{name: "listed after two resends", doneAt: 3, wantReads: 3, wantResends: 2},
		{name: "listed at the last read", doneAt: putConfirmRounds, wantReads: putConfirmRounds, wantResends: putConfirmRounds - 1},
		{name: "never listed, read says why", lastErr: errNotListed, wantReads: putConfirmRounds, wantResends: putConfirmRounds - 1, wantErr: errNotListed},
		{name: "never listed, read undecided", wantReads: putConfirmRounds, wantResends: putConfirmRounds - 1, wantErr: errdef.ErrInvalidResponse},
		{name: "read fails", failReads: true, wantReads: 1, wantErr: errRead},
		{name: "resend fails", failSend: true, wantReads: 1, wantResends: 1, wantErr: errResend},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var reads, resends int
			read := func(last bool) (bool, error) {
				reads++
				if last != (reads == putConfirmRounds) {
					t.Errorf("read %d: last = %v", reads, last)
				}
				switch {
				case tc.failReads:
					return false, errRead
				case reads == tc.doneAt:
					return true, nil
				case last:
					return false, tc.lastErr
				}
				return false, nil
			}
			resend := func() error {
				resends++
				if tc.failSend {
					return errResend
				}
				return nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := confirmRounds(ctx, read, resend)
			if reads != tc.wantReads || resends != tc.wantResends {
				t.Errorf("%d reads and %d resends, want %d and %d", reads, resends, tc.wantReads, tc.wantResends)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("err = %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
