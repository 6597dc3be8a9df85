package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Search: which images of a repository carry which keys.
//
// One paginated tag listing is read first. Then:
//
//   - on a registry without the referrers API the sha256-<hex> tags of that
//     listing (fallback indexes, manifesto's trace tags) already name every
//     image with metadata: each image costs one read of its index (plus a
//     manifest fetch per entry the index lacks, as for list), and no tag
//     listing of its own;
//   - on a registry with it, tags → digests (a HEAD each) → referrers (a GET
//     each, per distinct digest).
//
// In both cases the plain tags are resolved (a HEAD each) to show an
// image's tags. All of it runs with at most Jobs requests at once.

// DefaultSearchJobs is the concurrency of a search not given one.
const DefaultSearchJobs = 8

// MaxSearchJobs bounds --jobs: past a few dozen a registry sees a flood,
// not a client.
const MaxSearchJobs = 64

// SearchOptions tune Search.
type SearchOptions struct {
	// Jobs is how many requests run at once (0: DefaultSearchJobs).
	Jobs int
	// Progress, when set, is told how many of the lookups are done, as
	// they finish (from one goroutine at a time).
	Progress func(done, total int)
}

// ImageKeys is one image of a repository that carries metadata.
type ImageKeys struct {
	// Digest is the image (subject) digest.
	Digest string
	// Tags are the repository's tags naming it now, sorted; tags of the
	// referrers tag schema (sha256-<hex>…) are never listed.
	Tags []string
	// Keys is the newest entry of each key, sorted by key.
	Keys []Entry
}

// Search lists every image of the repository that carries metadata, with
// its tags and keys, sorted by digest.
func (r *Repository) Search(ctx context.Context, so SearchOptions) ([]ImageKeys, error) {
	jobs := so.Jobs
	if jobs <= 0 {
		jobs = DefaultSearchJobs
	}
	jobs = min(jobs, MaxSearchJobs)
	tags, err := r.allTags(ctx)
	if err != nil {
		return nil, err
	}

	// Sort the listing out: plain tags to resolve, subjects named by
	// fallback indexes and trace tags, and tags nobody may print.
	var plain []string
	subjects := map[v1.Hash]bool{}
	var subjectOrder []v1.Hash
	traces := map[v1.Hash][]string{}
	bad := 0
	for _, tag := range tags {
		if !ValidTag(tag) {
			bad++
			continue
		}
		m := referrersTagPattern().FindStringSubmatch(tag)
		if m == nil {
			plain = append(plain, tag)
			continue
		}
		h := v1.Hash{Algorithm: "sha256", Hex: m[1]}
		switch {
		case m[2] == "":
		case strings.HasPrefix(m[2], traceInfix) && len(m[2]) == len(traceInfix)+40:
			traces[h] = append(traces[h], tag)
		default:
			continue // another tool's (cosign's .sig, .att): no subject of ours
		}
		if !subjects[h] {
			subjects[h] = true
			subjectOrder = append(subjectOrder, h)
		}
	}
	if bad > 0 {
		r.Warnings = append(r.Warnings, Warning{Kind: WarnInvalidTags,
			Msg: fmt.Sprintf("the tag listing of %s holds %d tags that are not valid tag names; they are not shown", r.repo.Name(), bad)})
	}

	prog := &searchProgress{report: so.Progress}
	resolved := make([]v1.Hash, len(plain))
	found := make([]bool, len(plain))
	resolveAll := func(from int) func(int) error {
		return func(i int) error {
			i += from
			h, ok, err := r.resolveTag(ctx, plain[i])
			resolved[i], found[i] = h, ok
			return err
		}
	}

	// Is there a referrers API? One probe, whose answer is also the
	// listing of the image it asked about.
	var probe v1.Hash
	resolvedFirst := 0
	switch {
	case len(subjectOrder) > 0:
		probe = subjectOrder[0]
	case len(plain) > 0:
		prog.add(1)
		if err := resolveAll(0)(0); err != nil {
			return nil, err
		}
		prog.done()
		resolvedFirst = 1
		if !found[0] {
			// Gone since the listing: resolve them all first.
			prog.add(len(plain) - 1)
			if err := forEach(ctx, jobs, len(plain)-1, resolveAll(1), prog.done); err != nil {
				return nil, err
			}
			resolvedFirst = len(plain)
		}
		for i := range plain {
			if found[i] {
				probe = resolved[i]
				break
			}
		}
	}
	if probe.Hex == "" {
		return nil, nil // no tags at all, or only tags that are gone
	}
	api, probed, err := r.m.hasReferrersAPI(ctx, probe)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", probe, err)
	}

	entries := map[v1.Hash][]Entry{}
	var mu sync.Mutex
	keep := func(h v1.Hash, ds []v1.Descriptor) {
		if es := Latest(entriesOf(ds)); len(es) > 0 {
			mu.Lock()
			entries[h] = es
			mu.Unlock()
		}
	}
	if api {
		// The traces bring back what a listing lost, as on list.
		if probed, err = r.m.withTraced(ctx, probe, probed, traces[probe], nil); err != nil {
			return nil, fmt.Errorf("list referrers of %s: %w", probe, err)
		}
	}
	keep(probe, probed)

	rest := len(plain) - resolvedFirst
	if api {
		// Tags first: their digests are the images to ask about.
		prog.add(rest)
		if err := forEach(ctx, jobs, rest, resolveAll(resolvedFirst), prog.done); err != nil {
			return nil, err
		}
		var ask []v1.Hash
		seen := map[v1.Hash]bool{probe: true}
		for i := range plain {
			if found[i] && !seen[resolved[i]] {
				seen[resolved[i]] = true
				ask = append(ask, resolved[i])
			}
		}
		// Subjects of a fallback index some other tool left: asked too.
		for _, h := range subjectOrder {
			if !seen[h] {
				seen[h] = true
				ask = append(ask, h)
			}
		}
		prog.add(len(ask))
		err := forEach(ctx, jobs, len(ask), func(i int) error {
			ds, _, err := r.m.r.referrersAPI(ctx, ask[i])
			if err == nil {
				ds, err = r.m.withTraced(ctx, ask[i], ds, traces[ask[i]], nil)
			}
			if err != nil {
				return fmt.Errorf("list referrers of %s: %w", ask[i], err)
			}
			keep(ask[i], ds)
			return nil
		}, prog.done)
		if err != nil {
			return nil, err
		}
	} else {
		if len(subjectOrder) == 0 {
			// No sha256-* tag: no image carries anything.
			return nil, nil
		}
		// Tags and indexes at once: neither needs the other.
		views := subjectOrder
		prog.add(rest + len(views))
		err := forEach(ctx, jobs, rest+len(views), func(i int) error {
			if i < rest {
				return resolveAll(resolvedFirst)(i)
			}
			h := views[i-rest]
			st, err := r.m.fallbackViewWith(ctx, h, false, nil, func(string) ([]string, error) { return traces[h], nil })
			if err != nil {
				return fmt.Errorf("read the fallback index of %s: %w", h, err)
			}
			keep(h, st.all())
			return nil
		}, prog.done)
		if err != nil {
			return nil, err
		}
	}

	byDigest := map[v1.Hash][]string{}
	for i, tag := range plain {
		if found[i] {
			byDigest[resolved[i]] = append(byDigest[resolved[i]], tag)
		}
	}
	out := make([]ImageKeys, 0, len(entries))
	for h, es := range entries {
		ts := byDigest[h]
		sort.Strings(ts)
		out = append(out, ImageKeys{Digest: h.String(), Tags: ts, Keys: es})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

// searchProgress counts a search's lookups for SearchOptions.Progress.
type searchProgress struct {
	mu          sync.Mutex
	total, seen int
	report      func(done, total int)
}

func (p *searchProgress) add(n int) {
	p.mu.Lock()
	p.total += n
	p.mu.Unlock()
}

func (p *searchProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen++
	if p.report != nil {
		p.report(p.seen, p.total)
	}
}

// forEach runs do(0) … do(n-1) with at most jobs at once, calling done
// after each success. The first error stops what has not started and is
// returned; the others are dropped.
func forEach(ctx context.Context, jobs, n int, do func(i int) error, done func()) error {
	if n <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(jobs, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := do(i); err != nil {
					once.Do(func() { first = err; cancel(err) })
					continue
				}
				done()
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

// The warnings of search and migrate (numbered apart from warning.go's, so
// that kinds added there never collide with these).
const (
	// WarnInvalidTags: a tag listing held names that are not tags; they
	// are not shown.
	WarnInvalidTags WarningKind = 100 + iota
)
