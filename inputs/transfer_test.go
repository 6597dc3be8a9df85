package inputs

import (
	"reflect"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/steps"
)

// TestTransferArgs: copy and prune on the command line.
func TestTransferArgs(t *testing.T) {
	t.Parallel()
	const dst = "other.example.com/prod/app:1.4"
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		copy  steps.CopyOptions
		prune steps.PruneOptions
	}{
		{"copy", []string{"copy", img, dst}, nil, steps.CopyOptions{Destination: dst}, steps.PruneOptions{}},
		{"copy keys latest", []string{"copy", "--key", "sbom", "--key", "scan", "--key", "sbom", "--latest", img, "oci:./export"}, nil,
			steps.CopyOptions{Destination: "oci:./export", Keys: []string{"sbom", "scan"}, Latest: true}, steps.PruneOptions{}},
		{"copy metadata only from env", []string{"copy", "oci:./export", dst}, map[string]string{"MANIFESTO_METADATA_ONLY": "true"},
			steps.CopyOptions{Destination: dst, MetadataOnly: true}, steps.PruneOptions{}},
		{"prune keep", []string{"prune", "--keep", "3", img}, nil, steps.CopyOptions{}, steps.PruneOptions{Keep: 3}},
		{"prune days", []string{"prune", "--older-than", "30d", "--key", "scan", "--dry-run", img}, nil, steps.CopyOptions{},
			steps.PruneOptions{OlderThan: 30 * 24 * time.Hour, Keys: []string{"scan"}, DryRun: true}},
		{"prune both", []string{"prune", "--older-than", "720h", "--keep", "2", img}, nil, steps.CopyOptions{},
			steps.PruneOptions{OlderThan: 720 * time.Hour, Keep: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, _, err := parse(tc.args, tc.env, "")
			if err != nil {
				t.Fatal(err)
			}
			r := cmd.Request
			r.Copy.Registry = steps.RegistryOptions{}
			if !reflect.DeepEqual(r.Copy, tc.copy) || !reflect.DeepEqual(r.Prune, tc.prune) {
				t.Errorf("copy %+v prune %+v; want %+v %+v", r.Copy, r.Prune, tc.copy, tc.prune)
			}
			if r.Key != "" {
				t.Errorf("Key = %q", r.Key)
			}
		})
	}
}

// TestTransferUsageErrors: every bad copy or prune is a one-line usage
// error before any network call.
func TestTransferUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"copy missing DST", []string{"copy", img}, "missing DST"},
		{"copy bad DST", []string{"copy", img, "Bad Ref!"}, "not a valid reference"},
		{"copy onto itself", []string{"copy", img, img}, "both"},
		{"copy bad key", []string{"copy", "--key", "Bad", img, "oci:x"}, "key"},
		{"copy keep", []string{"copy", "--keep", "1", img, "oci:x"}, "unknown flag: --keep"},
		{"prune without rule", []string{"prune", img}, "--keep N or --older-than"},
		{"prune keep 0", []string{"prune", "--keep", "0", img}, "at least 1"},
		{"prune keep word", []string{"prune", "--keep", "all", img}, "whole number"},
		{"prune bad age", []string{"prune", "--older-than", "a month", img}, "not an age"},
		{"prune zero days", []string{"prune", "--older-than", "0d", img}, "not an age"},
		{"prune negative", []string{"prune", "--older-than", "-5h", img}, "not an age"},
		{"prune latest", []string{"prune", "--keep", "1", "--latest", img}, "unknown flag: --latest"},
		{"prune two images", []string{"prune", "--keep", "1", img, img}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parse(tc.args, nil, "")
			checkUsage(t, err, tc.want)
		})
	}
}

// TestTransferStep: copy and prune as a step's single operation.
func TestTransferStep(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	st, err := ws.fromStep(ws.github("operation", "copy", "image", stepImg, "destination", "oci:export", "key", "sbom\nscan\n", "latest", "true"))
	if err != nil {
		t.Fatal(err)
	}
	c := st.Ops[0].Request.Copy
	if c.Destination != "oci:export" || !reflect.DeepEqual(c.Keys, []string{"sbom", "scan"}) || !c.Latest || c.MetadataOnly {
		t.Errorf("copy step = %+v", c)
	}
	st, err = ws.fromStep(ws.github("operation", "prune", "image", stepImg, "keep", "5", "older_than", "7d", "dry_run", "yes"))
	if err != nil {
		t.Fatal(err)
	}
	if p := st.Ops[0].Request.Prune; p.Keep != 5 || p.OlderThan != 7*24*time.Hour || !p.DryRun || p.Keys != nil {
		t.Errorf("prune step = %+v", p)
	}
	// GitLab's function passes false for every boolean: no complaint.
	if _, err := ws.fromStep(ws.github("operation", "get", "image", stepImg, "key", "k", "latest", "false", "dry_run", "false")); err != nil {
		t.Errorf("get with false booleans of copy and prune: %v", err)
	}
	for _, tc := range []struct {
		name string
		kv   []string
		want string
	}{
		{"copy without destination", []string{"operation", "copy", "image", stepImg}, "destination"},
		{"copy with keep", []string{"operation", "copy", "image", stepImg, "destination", "oci:x", "keep", "1"}, `input "keep" (INPUT_KEEP) does not apply to operation "copy"`},
		{"get with destination", []string{"operation", "get", "image", stepImg, "key", "k", "destination", "oci:x"}, `does not apply to operation "get"`},
		{"put with latest", []string{"operation", "put", "image", stepImg, "key", "k", "file", ws.value, "latest", "true"}, `does not apply to operation "put"`},
		{"prune without rule", []string{"operation", "prune", "image", stepImg}, "--keep N or --older-than"},
		{"prune bad key line", []string{"operation", "prune", "image", stepImg, "keep", "1", "key", "ok\nNot OK"}, `input "key"`},
	} {
		_, err := ws.fromStep(ws.github(tc.kv...))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		checkUsage(t, err, tc.want)
	}
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"720h": 720 * time.Hour, "30d": 30 * 24 * time.Hour, " 1d ": 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseAge(in, "--older-than"); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1.5d", "-1d", "0s", "1y", "99999999d", "1000000h"} {
		if _, err := parseAge(in, "--older-than"); err == nil {
			t.Errorf("parseAge(%q) accepted", in)
		}
	}
}
