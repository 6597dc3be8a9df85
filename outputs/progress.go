package outputs

import (
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/manifesto-dev/manifesto/store"
)

// Progress display settings.
const (
	// barCells is the width of the terminal bar, in cells.
	barCells = 30
	// terminalEvery is the shortest time between two terminal redraws.
	terminalEvery = 100 * time.Millisecond
	// plainEvery is the time between two lines when not on a terminal.
	plainEvery = 5 * time.Second
	// maxLabelTerminal keeps the redrawn line (about 75 characters plus the
	// label) short enough not to wrap on an ordinary terminal: a wrapped line
	// breaks "\r" redrawing.
	maxLabelTerminal = 32
	// maxLabelPlain bounds a label on a log line.
	maxLabelPlain = 200
)

// NewProgress returns a store.Progress that reports transfers on w.
//
// A transfer whose total is known and below threshold reports nothing. One
// whose total is unknown (-1) reports nothing until threshold bytes have
// moved. Otherwise:
//
//   - terminal: one line redrawn in place with "\r", at most every 100ms,
//     "label [=====>     ]  50% 512.0 MiB / 1.0 GiB, 120.3 MiB/s", ended with
//     a newline by Close;
//   - not a terminal: one plain line every 5 seconds,
//     "label: 512.0 MiB / 1.0 GiB (50%), 120.3 MiB/s", and a last one on
//     Close.
//
// An unknown total shows bytes and rate without bar or percent. The rate is
// the average since the transfer started. Writes never fail and do not
// allocate; a line is only formatted when it is time to draw it. Close may be
// called more than once; only the first call draws.
func NewProgress(w io.Writer, terminal bool, threshold int64) store.Progress {
	return newProgress(w, terminal, threshold, time.Now)
}

// newProgress is NewProgress with an injectable clock.
func newProgress(w io.Writer, terminal bool, threshold int64, now func() time.Time) store.Progress {
	return func(label string, total int64) io.WriteCloser {
		if total >= 0 && total < threshold {
			return discard{}
		}
		max := maxLabelPlain
		if terminal {
			max = maxLabelTerminal
		}
		t := now()
		return &progress{
			w:         w,
			now:       now,
			label:     labelLine(nil, label, max),
			total:     total,
			threshold: threshold,
			terminal:  terminal,
			start:     t,
			last:      t,
			buf:       make([]byte, 0, 160),
		}
	}
}

// discard is the progress writer of a transfer too small to report.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// progress reports one transfer. Its methods are safe for concurrent use.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	now       func() time.Time
	label     string
	total     int64 // -1: unknown
	threshold int64 // with an unknown total: bytes before anything shows
	terminal  bool

	start  time.Time
	last   time.Time // last draw; start before the first
	done   int64
	drawn  bool
	closed bool
	width  int    // length of the last terminal line, to blank its tail
	buf    []byte // the line being drawn, reused
}

// Write counts p and, when it is time, draws. It never fails.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.done += int64(len(b))
	if !p.closed && p.visible() {
		if t := p.now(); p.due(t) {
			p.draw(t, false)
		}
	}
	p.mu.Unlock()
	return len(b), nil
}

// Close draws the final state (if anything was worth showing) and, on a
// terminal, ends the line. Later calls do nothing.
func (p *progress) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.drawn || (p.visible() && p.done > 0) {
		p.draw(p.now(), true)
	}
	return nil
}

// visible reports whether the transfer is worth showing yet.
func (p *progress) visible() bool {
	return p.total >= 0 || p.done >= p.threshold
}

// due reports whether it is time for the next line.
func (p *progress) due(t time.Time) bool {
	if p.terminal {
		return !p.drawn || t.Sub(p.last) >= terminalEvery
	}
	return t.Sub(p.last) >= plainEvery
}

// draw formats the current state into p.buf and writes it; write errors are
// ignored (progress must never fail a transfer).
func (p *progress) draw(t time.Time, final bool) {
	b := p.buf[:0]
	if p.terminal {
		b = append(b, '\r')
		b = append(b, p.label...)
		if p.total >= 0 {
			b = append(b, " ["...)
			b = appendBar(b, p.share(barCells))
			b = append(b, "] "...)
			b = appendPercent(b, p.share(100), true)
			b = append(b, ' ')
			b = appendSize(b, float64(p.done))
			b = append(b, " / "...)
			b = appendSize(b, float64(p.total))
		} else {
			b = append(b, ' ')
			b = appendSize(b, float64(p.done))
		}
		b = p.appendRate(b, t)
		n := len(b) - 1 // without the "\r"
		for i := n; i < p.width; i++ {
			b = append(b, ' ')
		}
		p.width = n
	} else {
		b = append(b, p.label...)
		b = append(b, ": "...)
		b = appendSize(b, float64(p.done))
		if p.total >= 0 {
			b = append(b, " / "...)
			b = appendSize(b, float64(p.total))
			b = append(b, " ("...)
			b = appendPercent(b, p.share(100), false)
			b = append(b, ')')
		}
		b = p.appendRate(b, t)
	}
	if final || !p.terminal {
		b = append(b, '\n')
	}
	p.buf = b
	p.w.Write(b)
	p.drawn = true
	p.last = t
}

// share is the part of parts done, rounded down and at most parts; a zero
// total counts as done. Integer arithmetic where it cannot overflow, so that
// 29 of 100 bytes is 29%, not 28.
func (p *progress) share(parts int64) int64 {
	switch {
	case p.total <= 0 || p.done >= p.total:
		return parts
	case p.done <= math.MaxInt64/parts:
		return p.done * parts / p.total
	default:
		return int64(float64(p.done) / float64(p.total) * float64(parts))
	}
}

// appendRate appends ", <rate>/s", or nothing before any time has passed.
func (p *progress) appendRate(b []byte, t time.Time) []byte {
	elapsed := t.Sub(p.start).Seconds()
	if elapsed <= 0 {
		return b
	}
	b = append(b, ", "...)
	b = appendSize(b, float64(p.done)/elapsed)
	return append(b, "/s"...)
}

// appendBar appends barCells cells: full of them '=', then '>' at the head,
// then ' ' to go.
func appendBar(b []byte, full int64) []byte {
	for i := int64(0); i < barCells; i++ {
		switch {
		case i < full:
			b = append(b, '=')
		case i == full:
			b = append(b, '>')
		default:
			b = append(b, ' ')
		}
	}
	return b
}

// appendPercent appends pct and "%", right-aligned to three digits if pad.
func appendPercent(b []byte, pct int64, pad bool) []byte {
	if pad {
		for d := int64(100); d > 1 && pct < d; d /= 10 {
			b = append(b, ' ')
		}
	}
	b = strconv.AppendInt(b, pct, 10)
	return append(b, '%')
}

var sizeUnits = [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// appendSize appends n bytes for people: "512 B", "1.5 KiB", "512.0 MiB",
// "1.0 GiB" (binary units, one decimal).
func appendSize(b []byte, n float64) []byte {
	if n < 1023.5 {
		b = strconv.AppendFloat(b, math.Round(n), 'f', 0, 64)
		return append(b, " B"...)
	}
	v, i := n/1024, 0
	for v >= 1023.95 && i < len(sizeUnits)-1 {
		v /= 1024
		i++
	}
	b = strconv.AppendFloat(b, v, 'f', 1, 64)
	b = append(b, ' ')
	return append(b, sizeUnits[i]...)
}
