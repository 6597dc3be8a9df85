package inputs

// copy's and prune's settings, read the same way by the command line and
// the step (buildTransfer): copy takes a destination, keys (repeatable),
// latest and metadata_only; prune keys, keep, older_than and dry_run.

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

// Option names of copy and prune.
const (
	inDestination  = "destination"
	inLatest       = "latest"
	inMetadataOnly = "metadata_only"
	inKeep         = "keep"
	inOlderThan    = "older_than"
	// dry_run (inDryRun, options.go) is migrate's too.
)

// transferOptions are the options of each of the two operations (key is
// also every other operation's, where it is one key).
var transferOptions = map[string][]string{
	steps.OpCopy:  {inDestination, inLatest, inMetadataOnly},
	steps.OpPrune: {inKeep, inOlderThan, inDryRun},
}

// repositoryOptions are the options of search and migrate (repository.go).
var repositoryOptions = map[string][]string{
	steps.OpSearch:  {inJobs},
	steps.OpMigrate: {inRename, inDryRun, inDeleteLegacy},
}

// opOwns reports whether the operation-specific option name is one of op's
// own (dry_run is migrate's and prune's): the one rule both readers of such
// options use to refuse the others' options.
func opOwns(op, name string) bool {
	return slices.Contains(transferOptions[op], name) || slices.Contains(repositoryOptions[op], name)
}

// maxAge bounds --older-than (about a century): a larger value is a typo.
const maxAge = 100 * 365 * 24 * time.Hour

// buildTransfer validates the copy and prune settings of operation op into
// req. get returns an option's value as given; parseBool parses a boolean
// the way the mode does. A setting of the other operation (or of either,
// for any other operation) is refused.
func buildTransfer(op string, get func(string) given, parseBool func(string) (bool, bool), req *steps.Request) error {
	for other, names := range transferOptions {
		if other == op {
			continue
		}
		for _, n := range names {
			if opOwns(op, n) {
				continue
			}
			g := get(n)
			if off, ok := parseBool(g.value); ok && !off && optionNamed(n).boolean {
				// false is every boolean's default: GitLab's function
				// passes it for every operation.
				continue
			}
			if g.set {
				return errdef.Usagef("%s does not apply to operation %q", g.from, op)
			}
		}
	}
	boolOf := func(name string) (bool, error) {
		g := get(name)
		if !g.set {
			return false, nil
		}
		v, ok := parseBool(g.value)
		if !ok {
			return false, errdef.Usagef("%s %q is not a boolean: want true or false", g.from, g.value)
		}
		return v, nil
	}
	var keys []string
	if op == steps.OpCopy || op == steps.OpPrune {
		var err error
		if keys, err = keyList(get(inKey)); err != nil {
			return err
		}
	}
	var err error
	switch op {
	case steps.OpCopy:
		d := get(inDestination)
		if !d.set {
			return errdef.Usagef("copy needs a destination (DST, or input %q)", inDestination)
		}
		if err := checkImage(d.value, req.Registry.PlainHTTP); err != nil {
			return errdef.Usagef("%s: %s", d.from, err.Error())
		}
		if d.value == req.Image {
			return errdef.Usagef("copy: source and destination are both %q", d.value)
		}
		req.Copy = steps.CopyOptions{Destination: d.value, Keys: keys}
		if req.Copy.Latest, err = boolOf(inLatest); err != nil {
			return err
		}
		if req.Copy.MetadataOnly, err = boolOf(inMetadataOnly); err != nil {
			return err
		}
	case steps.OpPrune:
		req.Prune = steps.PruneOptions{Keys: keys}
		if g := get(inKeep); g.set {
			n, err := strconv.Atoi(strings.TrimSpace(g.value))
			if err != nil || n < 1 {
				return errdef.Usagef("%s %q is not a number of versions: want a whole number of at least 1", g.from, g.value)
			}
			req.Prune.Keep = n
		}
		if g := get(inOlderThan); g.set {
			if req.Prune.OlderThan, err = parseAge(g.value, g.from); err != nil {
				return err
			}
		}
		if req.Prune.Keep == 0 && req.Prune.OlderThan == 0 {
			return errdef.Usagef("prune needs a rule: --keep N or --older-than DURATION (inputs keep, older_than), or both; without one it would remove nothing")
		}
		if req.Prune.DryRun, err = boolOf(inDryRun); err != nil {
			return err
		}
	}
	return nil
}

// keyList reads the keys of copy or prune: one per line (the flag may be
// repeated), each a valid KEY, each once.
func keyList(g given) ([]string, error) {
	if !g.set {
		return nil, nil
	}
	var keys []string
	for _, line := range strings.Split(g.value, "\n") {
		k := strings.TrimSpace(line)
		if k == "" {
			continue
		}
		if err := checkKey(k); err != nil {
			return nil, errdef.Usagef("%s: %s", g.from, err.Error())
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// parseAge reads prune's --older-than: a Go duration (720h, 90m) or a
// number of days (30d), greater than zero.
func parseAge(v, src string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	bad := errdef.Usagef("%s %q is not an age: want a duration such as 720h or a number of days such as 30d", src, v)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > int(maxAge/(24*time.Hour)) {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, bad
		}
	}
	if d > maxAge {
		return 0, bad
	}
	return d, nil
}
