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

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"2026-11-26T21:53:55Z", time.Date(2026, 11, 26, 21, 53, 55, 0, time.UTC)},
		{"2026-11-26T21:53:55.265793086Z", time.Date(2026, 11, 26, 21, 53, 55, 265793086, time.UTC)},
		{"2026-11-26T21:53:55.5+02:00", time.Date(2026, 11, 26, 19, 53, 55, 500000000, time.UTC)},
		{"2026-11-26T21:53:55-23:59", time.Date(2026, 11, 27, 21, 52, 55, 0, time.UTC)},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"2026-01-01T0:00:00Z", time.Time{}},             // one-digit hour: time.Parse takes it
		{"2026-01-01T00:00:00+00:60", time.Time{}},       // offset minute 60: time.Parse takes it
		{"2026-01-01T00:00:00+24:00", time.Time{}},       // offset hour 24
		{"2026-01-01T00:00:00+2:00", time.Time{}},        // one-digit offset hour
		{"2026-01-01T00:00:00.1234567890Z", time.Time{}}, // ten fraction digits
		{"2026-01-01T00:00:00.Z", time.Time{}},
		{"2026-01-01t00:00:00z", time.Time{}},
		{"2026-01-01T00:00:00", time.Time{}},
		{"2026-02-30T00:00:00Z", time.Time{}},
		{"2026-01-01T24:00:00Z", time.Time{}},
		{"2026-01-01T00:00:00Z ", time.Time{}},
		{"dddd-dd-ddTdd:dd:ddZ", time.Time{}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.want.IsZero() {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Parse(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
		}
	}
}
