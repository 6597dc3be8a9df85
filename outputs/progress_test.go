package outputs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
	gib = int64(1) << 30
)

// clock is a fake clock that moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

// step is one thing done to a progress writer: write n bytes (in 1 MiB
// chunks) with the clock stopped, then advance the clock by after and make an
// empty Write, which draws if it is time; or, with close, advance and Close.
type step struct {
	n     int64
	after time.Duration
	close bool
}

// closing is a step that closes the writer without moving the clock.
var closing = step{close: true}

// run performs steps and returns what was written to the output during each.
func run(t *testing.T, terminal bool, threshold, total int64, steps []step) []string {
	t.Helper()
	var out bytes.Buffer
	c := newClock()
	wc := newProgress(&out, terminal, threshold, c.now)("sbom", total)
	chunk := make([]byte, mib)
	var got []string
	for _, s := range steps {
		out.Reset()
		for left := s.n; left > 0; {
			n := min(left, int64(len(chunk)))
			if w, err := wc.Write(chunk[:n]); w != int(n) || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			left -= n
		}
		c.advance(s.after)
		if s.close {
			if err := wc.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		} else if w, err := wc.Write(nil); w != 0 || err != nil {
			t.Fatalf("Write(nil) = %d, %v", w, err)
		}
		got = append(got, out.String())
	}
	return got
}

func TestProgressPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		total int64
		steps []step
		want  []string
	}{
		{"below threshold", 4*mib - 1,
			[]step{{n: 4*mib - 1, after: time.Minute}, closing},
			[]string{"", ""}},
		{"a line every 5 seconds and one on close", gib,
			[]step{{n: 100 * mib, after: 4 * time.Second}, {n: 412 * mib, after: time.Second}, {n: 100 * mib, after: time.Second},
				{n: 412 * mib, after: 4 * time.Second}, closing, closing},
			[]string{"", "sbom: 512.0 MiB / 1.0 GiB (50%), 102.4 MiB/s\n", "",
				"sbom: 1.0 GiB / 1.0 GiB (100%), 102.4 MiB/s\n",
				"sbom: 1.0 GiB / 1.0 GiB (100%), 102.4 MiB/s\n", ""}},
		{"fast transfer: only the final line", 5 * mib,
			[]step{{n: 5 * mib}, {after: 500 * time.Millisecond, close: true}},
			[]string{"", "sbom: 5.0 MiB / 5.0 MiB (100%), 10.0 MiB/s\n"}},
		{"no time passed: no rate", 5 * mib,
			[]step{{n: 5 * mib}, closing},
			[]string{"", "sbom: 5.0 MiB / 5.0 MiB (100%)\n"}},
		{"aborted before any byte: nothing", gib,
			[]step{{after: time.Second, close: true}},
			[]string{""}},
		{"aborted midway", gib,
			[]step{{n: 29 * mib, after: time.Second}, closing},
			[]string{"", "sbom: 29.0 MiB / 1.0 GiB (2%), 29.0 MiB/s\n"}},
		{"unknown total, small: nothing", -1,
			[]step{{n: 3 * mib, after: 10 * time.Second}, closing},
			[]string{"", ""}},
		{"unknown total, large", -1,
			[]step{{n: 3 * mib, after: 10 * time.Second}, {n: 2 * mib, after: time.Second}, {n: 1 * mib}, closing},
			[]string{"", "sbom: 4.0 MiB, 409.6 KiB/s\n", "", "sbom: 6.0 MiB, 558.5 KiB/s\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, false, 4*mib, tt.total, tt.steps)
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("after step %d: %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

var barLine = regexp.MustCompile(`^\rsbom \[([=> ]{30})\] ( {0,2}\d{1,3})% (\S+ \S+) / (\S+ \S+)(?:, (\S+ \S+/s))? *(\n?)$`)

func TestProgressTerminal(t *testing.T) {
	t.Parallel()
	type draw struct {
		bar, pct, done, rate string
		final                bool
	}
	tests := []struct {
		name  string
		steps []step
		want  []*draw // nil: nothing written
	}{
		{"first write draws, then at most every 100ms",
			[]step{{n: mib, after: 50 * time.Millisecond}, {n: 9 * mib, after: 50 * time.Millisecond},
				{n: mib, after: 10 * time.Millisecond}, closing, closing},
			[]*draw{
				{">                             ", "  0", "1.0 MiB", "", false},
				{"==>                           ", "  9", "10.0 MiB", "100.0 MiB/s", false},
				nil,
				{"===>                          ", " 10", "11.0 MiB", "100.0 MiB/s", true},
				nil,
			}},
		{"full bar",
			[]step{{n: mib}, {n: 99 * mib, after: time.Second}, {n: 8 * mib, after: time.Second}, closing},
			[]*draw{
				{">                             ", "  0", "1.0 MiB", "", false},
				{"===========================>  ", " 92", "100.0 MiB", "100.0 MiB/s", false},
				{"==============================", "100", "108.0 MiB", "54.0 MiB/s", false},
				{"==============================", "100", "108.0 MiB", "54.0 MiB/s", true},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, true, 4*mib, 108*mib, tt.steps)
			width := 0
			for i, w := range tt.want {
				if w == nil {
					if got[i] != "" {
						t.Errorf("after step %d: %q, want nothing", i, got[i])
					}
					continue
				}
				m := barLine.FindStringSubmatch(got[i])
				if m == nil {
					t.Errorf("after step %d: %q is not a bar line", i, got[i])
					continue
				}
				g := draw{m[1], m[2], m[3], m[5], m[6] == "\n"}
				if g != *w || m[4] != "108.0 MiB" {
					t.Errorf("after step %d: %q: got %+v, want %+v", i, got[i], g, *w)
				}
				// A shorter line blanks what is left of the longer one.
				line := strings.TrimSuffix(got[i], "\n")
				if len(line) < width {
					t.Errorf("after step %d: line of %d bytes does not cover the last text (%d)", i, len(line), width)
				}
				width = len(strings.TrimRight(line, " "))
			}
		})
	}
}

func TestProgressTerminalUnknownTotal(t *testing.T) {
	t.Parallel()
	got := run(t, true, 4*mib, -1, []step{{n: 3 * mib, after: time.Second}, {n: mib, after: 50 * time.Millisecond},
		{n: mib, after: time.Second}, closing})
	want := []string{"", "\rsbom 4.0 MiB, 4.0 MiB/s", "\rsbom 5.0 MiB, 2.4 MiB/s", "\rsbom 5.0 MiB, 2.4 MiB/s\n"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after step %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func TestProgressLabel(t *testing.T) {
	t.Parallel()
	for _, terminal := range []bool{false, true} {
		var out bytes.Buffer
		c := newClock()
		wc := newProgress(&out, terminal, 0, c.now)("evil\nlabel\r"+strings.Repeat("x", 300), 10)
		wc.Write(make([]byte, 10))
		wc.Close()
		s := strings.TrimSuffix(out.String(), "\n")
		if strings.Contains(s, "\n") {
			t.Errorf("terminal=%v: label broke the line: %q", terminal, out.String())
		}
		if terminal {
			s = strings.TrimPrefix(s, "\r")
		}
		for _, draw := range strings.Split(s, "\r") {
			if !strings.HasPrefix(draw, "evil label xxx") || !strings.Contains(draw, "…") {
				t.Errorf("terminal=%v: label not cleaned and cut: %q", terminal, draw)
			}
		}
	}
}

// TestProgressLabelColon: the plain line is "LABEL: …", so a label ":"
// (found by FuzzPrinting as " :") would start the workflow command
// ":: 60 B / 100 B"; such a label is quoted.
func TestProgressLabelColon(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ label, want string }{
		{" :", `":": 10 B / 10 B (100%)`},
		{":x", `":x": 10 B / 10 B (100%)`},
		{"a:", `a:: 10 B / 10 B (100%)`},
		{"sbom", `sbom: 10 B / 10 B (100%)`},
	} {
		var out bytes.Buffer
		c := newClock()
		wc := newProgress(&out, false, 0, c.now)(tc.label, 10)
		wc.Write(make([]byte, 10))
		wc.Close()
		if got := out.String(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("label %q: printed %q, want it to start %q", tc.label, got, tc.want)
		}
	}
}

func TestProgressWriteErrorsIgnored(t *testing.T) {
	t.Parallel()
	c := newClock()
	wc := newProgress(failWriter{}, true, 0, c.now)("sbom", 10)
	if n, err := wc.Write(make([]byte, 10)); n != 10 || err != nil {
		t.Errorf("Write = %d, %v; want 10, nil", n, err)
	}
	if err := wc.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestProgressDiscard(t *testing.T) {
	t.Parallel()
	wc := NewProgress(failWriter{}, true, 4*mib)("sbom", 0)
	if _, ok := wc.(discard); !ok {
		t.Errorf("small transfer got %T; want discard", wc)
	}
	if n, err := wc.Write(make([]byte, 8*mib)); n != 8*int(mib) || err != nil {
		t.Errorf("Write = %d, %v", n, err)
	}
	// Closing twice is harmless.
	if first, second := wc.Close(), wc.Close(); first != nil || second != nil {
		t.Errorf("Close = %v, then %v", first, second)
	}
}

// countWriter counts bytes and calls without keeping them.
type countWriter struct{ calls int }

func (w *countWriter) Write(p []byte) (int, error) { w.calls++; return len(p), nil }

// Not parallel: testing.AllocsPerRun refuses to run in a parallel test.
func TestProgressWriteDoesNotAllocate(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		for _, drawing := range []bool{false, true} {
			out := &countWriter{}
			c := newClock()
			wc := newProgress(out, terminal, 0, c.now)("sbom", 100*gib)
			p := make([]byte, 32*kib)
			wc.Write(p) // the first draw may size the line buffer
			step := time.Microsecond
			if drawing {
				step = 6 * time.Second
			}
			before := out.calls
			allocs := testing.AllocsPerRun(1000, func() {
				c.advance(step)
				wc.Write(p)
			})
			if allocs != 0 {
				t.Errorf("terminal=%v drawing=%v: %v allocations per Write", terminal, drawing, allocs)
			}
			if drew := out.calls > before; drew != drawing {
				t.Errorf("terminal=%v drawing=%v: drew = %v", terminal, drawing, drew)
			}
		}
	}
}

func BenchmarkProgressWrite(b *testing.B) {
	wc := NewProgress(io.Discard, true, 0)("sbom", -1)
	p := make([]byte, 32*kib)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		wc.Write(p)
	}
}

func TestAppendSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    float64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1023.7, "1.0 KiB"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{float64(mib) - 1, "1.0 MiB"},
		{float64(512 * mib), "512.0 MiB"},
		{float64(gib), "1.0 GiB"},
		{float64(3*gib + gib/2), "3.5 GiB"},
		{float64(5 * 1024 * gib), "5.0 TiB"},
		{float64(1 << 62), "4.0 EiB"},
	}
	for _, tt := range tests {
		if got := string(appendSize(nil, tt.n)); got != tt.want {
			t.Errorf("appendSize(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	regular, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	closed, err := os.Create(filepath.Join(t.TempDir(), "g"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	defer regular.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	tests := []struct {
		name string
		f    *os.File
		want bool
	}{
		{"nil", nil, false},
		{"regular file", regular, false},
		{"pipe", w, false},
		{"closed", closed, false},
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer null.Close()
		// A character device, like a terminal; see IsTerminal.
		tests = append(tests, struct {
			name string
			f    *os.File
			want bool
		}{"character device", null, true})
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Logf("no %s: %v", os.DevNull, err)
	}
	for _, tt := range tests {
		if got := IsTerminal(tt.f); got != tt.want {
			t.Errorf("%s: IsTerminal = %v, want %v", tt.name, got, tt.want)
		}
	}
}
