package errdef

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCodeAndMessages(t *testing.T) {
	t.Parallel()
	inner := fmt.Errorf("GET /v2/: %w", WithClass(errors.New("401 secret-token"), ErrUnauthorized))
	tests := []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"nil", nil, ExitOK, ""},
		{"plain", errors.New("boom"), ExitFailure, "boom"},
		{"usage", Usagef("bad %s", "key"), ExitUsage, "bad key"},
		{"not found", NotFoundf("no %s", "k"), ExitNotFound, "no k"},
		{"wrapped class", inner, ExitUnauthorized, "GET /v2/: 401 secret-token"},
		{"shown as another message keeps the class", WithMessage(inner, "GET /v2/: 401 [redacted]"), ExitUnauthorized, "GET /v2/: 401 [redacted]"},
		{"shown as another message, nil", WithMessage(nil, "x"), ExitOK, ""},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.code {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.code)
		}
		if tt.err != nil && tt.err.Error() != tt.msg {
			t.Errorf("%s: message %q, want %q", tt.name, tt.err.Error(), tt.msg)
		}
	}
	if WithMessage(nil, "x") != nil {
		t.Error("WithMessage(nil) is not nil")
	}
}
