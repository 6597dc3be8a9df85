package inputs

// The operations on a whole repository (issue 12): search and migrate.
// Their argument is a REPOSITORY (the step input image holds it), and
// their settings are read here, for the command line and for a step.

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// repositoryCommands are the cobra commands search and migrate.
func repositoryCommands(run func(cmd *cobra.Command, args []string) error) (search, migrate *cobra.Command) {
	search = &cobra.Command{
		Use:   "search REPOSITORY",
		Short: "List the images of REPOSITORY that carry metadata, with their tags and keys",
		Long: `search prints one line per image of REPOSITORY that carries metadata: its
digest, its tags (comma-separated, - when it has none) and its keys
(comma-separated). --key K (repeatable) keeps the images carrying every one
of the keys. --json prints [{"digest", "tags", "keys": [{"key", "digest",
"created"}]}].

On a registry without the referrers API one tag listing names every image
with metadata (the sha256-<digest> tags); with it, every tag is resolved and
each image's referrers are listed, --jobs requests at a time (default 8),
with progress on standard error. An image with metadata but no tag is found
only on a registry without the referrers API.`,
		Example: `  manifesto search registry.example.com/team/app
  manifesto search --key qa-passed --key deployed registry.example.com/team/app
  manifesto search --json registry.example.com/team/app | jq -r '.[].digest'`,
		Args: exactArgs("REPOSITORY"),
		RunE: run,
	}
	migrate = &cobra.Command{
		Use:   "migrate REPOSITORY",
		Short: "Import the metadata of the original manifesto (the _manifesto tag) as entries",
		Long: `migrate reads the index the original manifesto (aquasecurity/manifesto, 2017)
kept in REPOSITORY's _manifesto tag and stores each value as an entry on its
image digest, with the value's type as the key (--rename TYPE=KEY for a type
that is not a valid key, or to choose another). The media type is sniffed:
JSON is application/json, anything else application/octet-stream.

It prints one line per value: imported, unchanged (the newest version of the
key has that value already: migrate can run again), would-import (--dry-run)
or skipped, with the reason (an image that no longer exists, a value that is
missing, a type that is not a valid key). --trust signs what it imports.
The _manifesto tag is left alone unless --delete-legacy is given; it is then
removed only when nothing is left that a rerun could import.`,
		Example: `  manifesto migrate --dry-run registry.example.com/team/app
  manifesto migrate --rename "QA approval=qa-approval" registry.example.com/team/app
  manifesto migrate --delete-legacy --json registry.example.com/team/app`,
		Args: exactArgs("REPOSITORY"),
		RunE: run,
	}
	return search, migrate
}

// isRepositoryOp reports whether op works on a repository.
func isRepositoryOp(op string) bool { return op == steps.OpSearch || op == steps.OpMigrate }

func checkRepository(s string, plainHTTP bool) error {
	_, err := store.ParseRepository(s, plainHTTP)
	return err
}

// repositorySettings reads search's or migrate's settings. value returns
// an option's value as given and src names where it came from; on returns
// a boolean option's value.
func repositorySettings(op string, value func(string) string, src func(string) string, on func(string) (bool, error)) (steps.SearchOptions, steps.MigrateOptions, error) {
	var so steps.SearchOptions
	var mo steps.MigrateOptions
	var err error
	if op == steps.OpSearch {
		if so.Keys, err = parseKeyLines(value(inKey), src(inKey)); err != nil {
			return so, mo, err
		}
		if v := value(inJobs); v != "" {
			if so.Jobs, err = parseJobs(v, src(inJobs)); err != nil {
				return so, mo, err
			}
		}
		return so, mo, nil
	}
	if mo.Renames, err = parseRenames(value(inRename), src(inRename)); err != nil {
		return so, mo, err
	}
	if mo.DryRun, err = on(inDryRun); err != nil {
		return so, mo, err
	}
	if mo.DeleteLegacy, err = on(inDeleteLegacy); err != nil {
		return so, mo, err
	}
	if mo.DryRun && mo.DeleteLegacy {
		return so, mo, errdef.Usagef("%s and %s: a dry run deletes nothing; give one of them", src(inDryRun), src(inDeleteLegacy))
	}
	return so, mo, nil
}

// parseKeyLines reads keys, one per line (empty lines skipped), each
// checked as on put.
func parseKeyLines(v, src string) ([]string, error) {
	var keys []string
	seen := map[string]bool{}
	for _, line := range strings.Split(v, "\n") {
		k := strings.TrimSpace(line)
		if k == "" || seen[k] {
			continue
		}
		if err := checkKey(k); err != nil {
			return nil, errdef.Usagef("%s: %v", src, err)
		}
		seen[k] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// parseJobs reads --jobs: a whole number from 1 to store.MaxSearchJobs.
func parseJobs(v, src string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > store.MaxSearchJobs {
		return 0, errdef.Usagef("%s %q: want a whole number from 1 to %d", src, v, store.MaxSearchJobs)
	}
	return n, nil
}

// parseRenames reads TYPE=KEY lines. TYPE is the original type as its
// index writes it (any text but a line break; the last '=' splits, since a
// key has none); KEY is checked as on put. A type renamed twice is an
// error.
func parseRenames(v, src string) (map[string]string, error) {
	out := map[string]string{}
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		i := strings.LastIndex(line, "=")
		if i <= 0 {
			return nil, errdef.Usagef("%s %q: want TYPE=KEY", src, line)
		}
		typ, key := line[:i], strings.TrimSpace(line[i+1:])
		if err := checkPathChars(typ, src+" TYPE"); err != nil {
			return nil, err
		}
		if err := checkKey(key); err != nil {
			return nil, errdef.Usagef("%s %q: %v", src, line, err)
		}
		if prev, dup := out[typ]; dup && prev != key {
			return nil, errdef.Usagef("%s renames type %q twice (%s and %s)", src, typ, prev, key)
		}
		out[typ] = key
	}
	return out, nil
}

// repositoryInputs reads the step inputs of search and migrate into spec;
// for any other operation they must be empty.
func (b *stepBuilder) repositoryInputs(spec *opSpec) error {
	op := spec.operation.value
	for _, in := range []string{inJobs, inRename, inDryRun, inDeleteLegacy} {
		if opOwns(op, in) || b.in[in].value == "" {
			continue
		}
		if optionNamed(in).boolean {
			// false changes nothing wherever it is set.
			if v, err := b.boolInput(in, false); err == nil && !v {
				continue
			}
		}
		return errdef.Usagef("%s does not apply to operation %q", b.label(in), op)
	}
	if !isRepositoryOp(op) {
		return nil
	}
	so, mo, err := repositorySettings(op,
		func(in string) string { return b.in[in].value },
		b.label,
		func(in string) (bool, error) { return b.boolInput(in, false) })
	if err != nil {
		return err
	}
	spec.repository = &repositorySpec{search: so, migrate: mo}
	return nil
}

// repositorySpec is what search and migrate read besides the common
// settings; set only for the single-operation form.
type repositorySpec struct {
	search  steps.SearchOptions
	migrate steps.MigrateOptions
}
