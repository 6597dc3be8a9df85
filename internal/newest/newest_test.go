package newest

import (
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		aT, bT   time.Time
		aD, bD   string
		wantSign int
	}{
		{"later first", t0.Add(time.Second), t0, "sha256:a", "sha256:b", -1},
		{"earlier second", t0, t0.Add(time.Second), "sha256:b", "sha256:a", 1},
		{"tie: larger digest first", t0, t0, "sha256:b", "sha256:a", -1},
		{"tie: smaller digest second", t0, t0, "sha256:a", "sha256:b", 1},
		{"equal", t0, t0, "sha256:a", "sha256:a", 0},
		{"same instant, other zone", t0, t0.In(time.FixedZone("x", 3600)), "sha256:a", "sha256:a", 0},
	}
	for _, tt := range tests {
		got := Compare(tt.aT, tt.aD, tt.bT, tt.bD)
		if (got < 0 && tt.wantSign >= 0) || (got > 0 && tt.wantSign <= 0) || (got == 0 && tt.wantSign != 0) {
			t.Errorf("%s: Compare = %d, want sign %d", tt.name, got, tt.wantSign)
		}
	}
}
