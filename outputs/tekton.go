package outputs

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/manifesto-dev/manifesto/internal/atomicfile"
)

// Tekton's budget for results. The entrypoint of each step hands its results
// to the controller in the container's termination message, a JSON array of
// {"key": name, "value": value, "type": 1} objects that Kubernetes caps at
// 4096 bytes (and Tekton adds entries of its own, such as StartedAt).
const (
	// MaxTektonMessage is Kubernetes' limit on a termination message.
	MaxTektonMessage = 4096
	// tektonReserve is left for Tekton's own entries in the message; its
	// StartedAt entry takes about 70 bytes.
	tektonReserve = 128
)

// tektonResultName is Tekton's rule for result names (ResultNameFormat).
var tektonResultName = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)

// TektonResults writes each output to the file dir/<name>, the value exactly,
// without a trailing newline, for a Task's results
// ($(results.<name>.path), dir being /tekton/results). Each file is written
// atomically, to a temporary file in dir renamed into place, with mode 0644.
//
// All results of a step travel in one termination message of at most 4096
// bytes, JSON-encoded with their names. Outputs are taken in order; one whose
// entry would bring the estimated message (with room kept for Tekton's own
// entries) over 4096 bytes is skipped, and the names skipped are returned
// for the caller to warn about. Results written by other tools in the same
// step also count against the limit and are not seen here.
//
// Names must follow Tekton's rule for result names
// (^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$); an invalid name is an error
// and nothing is written. A write error stops at the output that failed;
// the outputs before it stay written.
func TektonResults(dir string, outs []Output) (skipped []string, err error) {
	for _, o := range outs {
		if !tektonResultName.MatchString(o.Name) {
			return nil, fmt.Errorf("outputs: invalid Tekton result name %q", o.Name)
		}
	}
	size := len("[]") + tektonReserve
	for _, o := range outs {
		n, err := tektonEntrySize(o)
		if err != nil {
			return skipped, err
		}
		if size+n+1 > MaxTektonMessage { // +1: the comma before it
			skipped = append(skipped, o.Name)
			continue
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, o.Name), []byte(o.Value)); err != nil {
			return skipped, fmt.Errorf("outputs: Tekton result %s: %w", o.Name, err)
		}
		size += n + 1
	}
	return skipped, nil
}

// tektonEntry is one result in a step's termination message.
type tektonEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Type  int    `json:"type"`
}

// tektonEntrySize is the size of o's entry in the termination message.
func tektonEntrySize(o Output) (int, error) {
	b, err := json.Marshal(tektonEntry{Key: o.Name, Value: o.Value, Type: 1})
	return len(b), err
}
