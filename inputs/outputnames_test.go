package inputs

import (
	"bytes"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/outputs"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

var allSystems = []System{SystemGitHub, SystemGitLab, SystemDrone, SystemWoodpecker, SystemGeneric}

// inputVariables is every variable name any option of the table is read
// from, in any mode and on any system: the step inputs' INPUT_, PLUGIN_ (both
// manglings) and MANIFESTO_ names, the CLI flags' MANIFESTO_ names, and the
// variables read under their own name.
func inputVariables() []string {
	seen := map[string]bool{}
	for _, o := range optionTable {
		if o.env {
			seen[o.name] = true
			continue
		}
		if o.step {
			for _, sys := range allSystems {
				for _, v := range inputVars(sys, o.name) {
					seen[v] = true
				}
			}
		}
		if o.cli {
			seen[EnvName(o.flag())] = true
		}
	}
	var vs []string
	for v := range seen {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// TestOutputsAreNeverInputs: no output of any system can be read back as an
// input. A GitLab job gets the dotenv variables of the jobs it needs over its
// own variables, and a Drone or Woodpecker step that sources manifesto.env
// exports them, so a dotenv output named like an input would silently
// replace it (issue 10, item 9). The other systems' outputs are not
// variables (GitHub step outputs, GitLab CI/CD Functions outputs, Tekton
// result files), but their names, id-prefixed or not, are checked too.
// Computed from the option table, so a new input cannot collide either.
func TestOutputsAreNeverInputs(t *testing.T) {
	t.Parallel()
	ins := inputVariables()
	if !slices.Contains(ins, "MANIFESTO_JSON") || !slices.Contains(ins, "PLUGIN_MEDIA-TYPE") || !slices.Contains(ins, "INPUT_KEY") || !slices.Contains(ins, "COSIGN_PASSWORD") {
		t.Fatalf("inputVariables misses some: %q", ins)
	}
	// Every dotenv variable, with any id prefix, starts with the prefix.
	names := outputs.Names()
	for _, n := range names {
		for _, id := range []string{"", "unit", "a_b"} {
			name := n
			if id != "" {
				name = id + "_" + n
			}
			v, ok := outputs.DotenvName(name)
			if !ok || !strings.HasPrefix(v, outputs.DotenvPrefix) {
				t.Errorf("dotenv variable of %q is %q, %v", name, v, ok)
			}
		}
	}
	stepOutput := regexp.MustCompile(`^([a-z0-9_]+_)?(` + strings.Join(names, "|") + `)$`)
	for _, in := range ins {
		if strings.HasPrefix(in, outputs.DotenvPrefix) {
			t.Errorf("input variable %s is in the dotenv outputs' namespace %s*", in, outputs.DotenvPrefix)
		}
		if stepOutput.MatchString(in) {
			t.Errorf("input variable %s is also the name of an output", in)
		}
	}
	// The prefix itself cannot be an input's MANIFESTO_ name: no input is
	// called out or out_*.
	for _, o := range optionTable {
		if o.name == "out" || strings.HasPrefix(o.name, "out_") {
			t.Errorf("input %q: its MANIFESTO_ name would be in the outputs' namespace", o.name)
		}
	}
}

// recordingEnv is a getenv over m that records every name asked for.
type recordingEnv struct {
	m     map[string]string
	asked []string
}

func (r *recordingEnv) get(k string) string {
	r.asked = append(r.asked, k)
	return r.m[k]
}

// putDotenv is the dotenv report of a put job, as the step writes it: the
// variables GitLab hands every job that needs it.
func putDotenv(t *testing.T, id string) map[string]string {
	t.Helper()
	e := store.Entry{Key: "test-verdict", Digest: stepDigest, MediaType: "application/json", Size: 10,
		Created: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Title: "verdict.json"}
	r := steps.Result{Operation: steps.OpPut, Image: stepImg, Subject: fileDigest, Key: e.Key, Found: true, Entry: &e, Signer: "targets/ci"}
	outs := outputs.StepOutputs(r)
	if id != "" {
		outs = append(outputs.Prefixed(id, outs), outs...)
	}
	var buf bytes.Buffer
	if _, err := outputs.Dotenv(&buf, outputs.DotenvOutputs(outs)); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	if len(vars) < 5 {
		t.Fatalf("put dotenv has only %q", vars)
	}
	return vars
}

// TestDotenvOutputsDoNotChangeInputs is issue 10 item 9 as GitLab runs it:
// a get job (and a list job) that needs a put job gets the put job's dotenv
// variables over its own. The step must read exactly what it reads without
// them: same Step, no error, and never a variable of the outputs'
// namespace. Through FromArgs (`manifesto step`, the CLI flags' variables)
// and FromStep, on every system.
func TestDotenvOutputsDoNotChangeInputs(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	jobs := map[string]map[string]string{
		"get other key": {"MANIFESTO_OPERATION": "get", "MANIFESTO_IMAGE": stepImg, "MANIFESTO_KEY": "other-key"},
		"get":           {"MANIFESTO_OPERATION": "get", "MANIFESTO_IMAGE": stepImg, "MANIFESTO_KEY": "test-verdict", "MANIFESTO_ID": "fetch"},
		"list":          {"MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": stepImg},
		"put":           {"MANIFESTO_OPERATION": "put", "MANIFESTO_IMAGE": stepImg, "MANIFESTO_KEY": "k", "MANIFESTO_FILE": ws.value},
	}
	markers := map[System]map[string]string{SystemGitLab: glEnv, SystemGitHub: ghEnv, SystemDrone: drEnv, SystemWoodpecker: wpEnv, SystemGeneric: {}}
	for name, job := range jobs {
		for sys, marker := range markers {
			for _, id := range []string{"", "verdict"} {
				base := env(marker, job)
				withOutputs := env(base, putDotenv(t, id)) // the dotenv variables win, as on GitLab
				var want, got Step
				var werr, gerr error
				for _, c := range []struct {
					m   map[string]string
					st  *Step
					err *error
				}{{base, &want, &werr}, {withOutputs, &got, &gerr}} {
					rec := &recordingEnv{m: c.m}
					cmd, err := FromArgs([]string{"step"}, rec.get, nil, io.Discard)
					if err != nil {
						*c.err = err
						continue
					}
					if cmd.Name != "step" {
						t.Fatalf("FromArgs(step) = %q", cmd.Name)
					}
					*c.st, *c.err = FromStep(rec.get, func() (string, error) { return ws.dir, nil })
					for _, v := range rec.asked {
						if strings.HasPrefix(v, outputs.DotenvPrefix) {
							t.Errorf("%s, %s: inputs read %s, an output variable", name, sys, v)
						}
					}
				}
				if werr != nil {
					t.Fatalf("%s, %s: the job alone fails: %v", name, sys, werr)
				}
				if gerr != nil {
					t.Errorf("%s, %s, id %q: with the put job's outputs: %v", name, sys, id, gerr)
					continue
				}
				want.Secrets, got.Secrets = nil, nil
				if !reflect.DeepEqual(want, got) {
					t.Errorf("%s, %s, id %q: the put job's outputs changed the step:\n%+v\nwant\n%+v", name, sys, id, got, want)
				}
			}
		}
	}
}

// TestSingleOpID: the id input names the single operation (its outputs get
// the <id>_ prefix); it follows the steps file's id rule and is refused
// with a steps file.
func TestSingleOpID(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	job := env(glEnv, map[string]string{"MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": stepImg})
	st, err := ws.fromStep(env(job, map[string]string{"MANIFESTO_ID": "keys_1"}))
	if err != nil || len(st.Ops) != 1 || st.Ops[0].ID != "keys_1" {
		t.Fatalf("id: %+v, %v", st.Ops, err)
	}
	for _, bad := range []string{"Keys", "a-b", "a.b", "a b"} {
		_, err := ws.fromStep(env(job, map[string]string{"MANIFESTO_ID": bad}))
		checkUsage(t, err, `input "id" (MANIFESTO_ID)`, "lower-case letters, digits and '_'")
	}
	_, err = ws.fromStep(env(glEnv, map[string]string{"MANIFESTO_STEPS_FILE": testdataPath(t, "one_step.yml"), "MANIFESTO_IMAGE": stepImg, "MANIFESTO_ID": "x"}))
	checkUsage(t, err, `input "id"`, "steps file")
}
