package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// TestConcurrentProcesses is the no-lost-update guarantee: on CNCF
// Distribution (no referrers API), 16 processes putting 16 different keys to
// one image at once, plus 8 processes putting the same key, are all found
// afterwards, every time. Peers keep 2–6 of 16 here.
func TestConcurrentProcesses(t *testing.T) {
	const rounds, keys, versions = 3, 16, 8
	reg := testregistry.Start(t)
	for round := 0; round < rounds; round++ {
		image := reg.Ref(fmt.Sprintf("team/app:r%d", round))
		subject := pushImage(t, image)
		value := writeFile(t, "v.txt", "same bytes for everyone")

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		start := make(chan struct{})
		for i := 0; i < keys+versions; i++ {
			key := fmt.Sprintf("key-%02d", i)
			if i >= keys {
				key = "shared"
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.CommandContext(ctx, bin, "put", image, key, value)
				cmd.Env = cleanEnv()
				<-start
				if out, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("put %s: %v: %s", key, err, out))
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		cancel()
		if len(failures) > 0 {
			t.Fatalf("round %d: %d puts failed:\n%s", round, len(failures), strings.Join(failures, "\n"))
		}

		listed := lines(ok(t, "list", image))
		if len(listed) != keys+1 {
			t.Errorf("round %d: list shows %d keys, want %d: %q", round, len(listed), keys+1, listed)
		}
		for i := 0; i < keys; i++ {
			if want := fmt.Sprintf("key-%02d", i); !contains(listed, want) {
				t.Errorf("round %d: %s lost", round, want)
			}
		}
		if h := lines(ok(t, "history", image, "shared")); len(h) != versions {
			t.Errorf("round %d: history shows %d versions, want %d", round, len(h), versions)
		}
		// The fallback index converged too: other tools see all entries.
		if n := len(fallbackIndex(t, reg, "team/app", subject.String())); n != keys+versions {
			t.Errorf("round %d: fallback index lists %d entries, want %d", round, n, keys+versions)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
