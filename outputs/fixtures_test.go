package outputs

import (
	"errors"
	"strings"
	"time"

	"github.com/manifesto-dev/manifesto/store"
)

// Shared test data.
const (
	subject = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

var (
	// A non-UTC zone and odd nanoseconds check the created format.
	zone   = time.FixedZone("UTC+2", 2*60*60)
	entryA = store.Entry{Key: "sbom", Digest: digestA, MediaType: "application/json", Size: 1234,
		Created: time.Date(2025, 3, 4, 7, 8, 9, 123456789, zone), Title: "sbom.json"}
	entryB = store.Entry{Key: "scan", Digest: digestB, MediaType: "application/sarif+json", Size: 0,
		Created: time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)}
	entryC = store.Entry{Key: "scan", Digest: digestC, Size: -1,
		Created: time.Date(2024, 12, 31, 23, 59, 59, 1, time.UTC)}
)

// lines splits output into lines, requiring it to be empty or end in "\n".
func lines(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.HasSuffix(s, "\n") {
		return nil, errors.New("output does not end with a newline")
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n"), nil
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
