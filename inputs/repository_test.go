package inputs

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

const repoRef = "registry.example.com/team/app"

func TestRepositoryCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		search  steps.SearchOptions
		migrate steps.MigrateOptions
		bad     string // part of the usage error; "" = valid
	}{
		{args: []string{"search", repoRef}},
		{args: []string{"search", "--key", "qa", "--key", "deployed", "--key", "qa", "--jobs", "16", repoRef},
			search: steps.SearchOptions{Keys: []string{"qa", "deployed"}, Jobs: 16}},
		{args: []string{"search", repoRef}, env: map[string]string{"MANIFESTO_JOBS": "4"}, search: steps.SearchOptions{Jobs: 4}},
		{args: []string{"migrate", "--rename", "QA Approval=qa-approval", "--rename", "a=b=c", "--dry-run", repoRef},
			migrate: steps.MigrateOptions{Renames: map[string]string{"QA Approval": "qa-approval", "a=b": "c"}, DryRun: true}},
		{args: []string{"migrate", "--delete-legacy", repoRef}, migrate: steps.MigrateOptions{Renames: map[string]string{}, DeleteLegacy: true}},
		{args: []string{"search", repoRef + ":v1"}, bad: "names a tag"},
		{args: []string{"search", repoRef + "@sha256:" + strings.Repeat("a", 64)}, bad: "names a digest"},
		{args: []string{"search", "oci:./layout"}, bad: "OCI layout"},
		{args: []string{"search", "--jobs", "65", repoRef}, bad: "from 1 to 64"},
		{args: []string{"search", "--jobs", "x", repoRef}, bad: "from 1 to 64"},
		{args: []string{"search", "--key", "Not A Key", repoRef}, bad: "--key"},
		{args: []string{"search", "--platform", "linux/amd64", repoRef}, bad: "does not apply"},
		{args: []string{"migrate", "--rename", "noequals", repoRef}, bad: "TYPE=KEY"},
		{args: []string{"migrate", "--rename", "=k", repoRef}, bad: "TYPE=KEY"},
		{args: []string{"migrate", "--rename", "t=Bad Key", repoRef}, bad: "invalid"},
		{args: []string{"migrate", "--rename", "t=a", "--rename", "t=b", repoRef}, bad: "twice"},
		{args: []string{"migrate", "--dry-run", "--delete-legacy", repoRef}, bad: "dry run"},
		{args: []string{"migrate", "--key", "k", repoRef}, bad: "unknown flag"},
		{args: []string{"search", "--rename", "a=b", repoRef}, bad: "unknown flag"},
	} {
		cmd, _, err := parse(tc.args, tc.env, "")
		if tc.bad != "" {
			if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%q: %v, want a usage error with %q", tc.args, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if tc.migrate.Renames == nil && cmd.Request.Operation == steps.OpMigrate {
			tc.migrate.Renames = map[string]string{}
		}
		if cmd.Request.Image != repoRef || !reflect.DeepEqual(cmd.Request.Search, tc.search) || !reflect.DeepEqual(cmd.Request.Migrate, tc.migrate) {
			t.Errorf("%q: %+v %+v %q", tc.args, cmd.Request.Search, cmd.Request.Migrate, cmd.Request.Image)
		}
	}
}

func TestRepositoryStepInputs(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	st, err := ws.fromStep(ws.github("operation", "search", "image", repoRef, "key", "qa\ndeployed\n", "jobs", "3"))
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Ops[0].Request; r.Operation != steps.OpSearch || r.Image != repoRef || !reflect.DeepEqual(r.Search, steps.SearchOptions{Keys: []string{"qa", "deployed"}, Jobs: 3}) {
		t.Errorf("search = %+v", r)
	}
	st, err = ws.fromStep(ws.github("operation", "migrate", "image", repoRef, "rename", "A B=a-b\nc=d", "dry_run", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Ops[0].Request; !reflect.DeepEqual(r.Migrate, steps.MigrateOptions{Renames: map[string]string{"A B": "a-b", "c": "d"}, DryRun: true}) {
		t.Errorf("migrate = %+v", r.Migrate)
	}
	for _, kv := range [][]string{
		{"operation", "list", "image", img, "jobs", "3"},
		{"operation", "search", "image", repoRef, "rename", "a=b"},
		{"operation", "migrate", "image", repoRef, "key", "k"},
		{"operation", "migrate", "image", img},
		{"operation", "get", "image", img, "key", "k", "dry_run", "true"},
	} {
		if _, err := ws.fromStep(ws.github(kv...)); !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("%q: %v, want a usage error", kv, err)
		}
	}
}

// TestRepositoryFalseInputsAnywhere: a boolean set to false (a workflow
// default) is no error for another operation.
func TestRepositoryFalseInputsAnywhere(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	if _, err := ws.fromStep(ws.github("operation", "list", "image", img, "dry_run", "false", "delete_legacy", "false")); err != nil {
		t.Error(err)
	}
}

// TestRepositoryOpsNotInStepsFile: search and migrate are a step's single
// operation.
func TestRepositoryOpsNotInStepsFile(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	for _, op := range []string{"search", "migrate"} {
		writeFile(t, ws.abs(op+".yml"), "steps:\n  - {operation: "+op+", image: "+repoRef+"}\n")
		_, err := ws.fromStep(ws.github("steps_file", op+".yml"))
		if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "single operation") {
			t.Errorf("%s in a steps file: %v", op, err)
		}
	}
}
