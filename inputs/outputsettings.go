package inputs

// Where a step's outputs go: the outputs_format, outputs_file and
// results_dir inputs.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// Values of Step.OutputsFormat.
const (
	// OutputsGitHub appends to the file named by GITHUB_OUTPUT (GitHub
	// Actions step outputs). The default on GitHub.
	OutputsGitHub = "github"
	// OutputsDotenv writes KEY=VALUE lines to Step.OutputsFile (GitLab
	// artifacts:reports:dotenv, Drone, Woodpecker). The default elsewhere.
	OutputsDotenv = "dotenv"
	// OutputsJSONL appends {"name":..,"value":..} lines to Step.OutputsFile
	// (GitLab CI/CD Functions).
	OutputsJSONL = "jsonl"
	// OutputsTekton writes one file per result into Step.ResultsDir.
	OutputsTekton = "tekton"
)

const (
	// DefaultOutputsFile is where dotenv and jsonl outputs go when the
	// outputs_file input is empty, relative to the working directory.
	DefaultOutputsFile = "manifesto.env"
	// ValueDir is the directory, relative to the workspace, where get writes
	// a value whose file input is empty: <workspace>/.manifesto/<key>.
	ValueDir = ".manifesto"
)

func (b *stepBuilder) wd() (string, error) {
	wd, err := b.getwd()
	if err != nil {
		return "", errdef.Usagef("cannot determine the working directory: %v", err)
	}
	if !filepath.IsAbs(wd) {
		return "", errdef.Usagef("the working directory %q is not absolute", wd)
	}
	return filepath.Clean(wd), nil
}

// outputs validates outputs_format, outputs_file and results_dir.
func (b *stepBuilder) outputs(st *Step) error {
	format := b.in[inOutputsFormat]
	st.OutputsFormat = format.value
	if st.OutputsFormat == "" {
		st.OutputsFormat = OutputsDotenv
		if b.sys == SystemGitHub {
			st.OutputsFormat = OutputsGitHub
		}
	}
	switch st.OutputsFormat {
	case OutputsGitHub, OutputsDotenv, OutputsJSONL, OutputsTekton:
	default:
		return errdef.Usagef("%s %q is not an outputs format: want github, dotenv, jsonl or tekton", b.label(inOutputsFormat), format.value)
	}
	outFile, resDir := b.in[inOutputsFile], b.in[inResultsDir]

	if st.OutputsFormat == OutputsTekton {
		if resDir.value == "" {
			return b.required(inResultsDir, ` when outputs_format is "tekton"`)
		}
	} else if resDir.value != "" {
		return errdef.Usagef("%s applies only to outputs_format \"tekton\", not %q", b.label(inResultsDir), st.OutputsFormat)
	}
	switch st.OutputsFormat {
	case OutputsDotenv, OutputsJSONL:
	default:
		if outFile.value != "" {
			return errdef.Usagef("%s applies only to outputs_format \"dotenv\" or \"jsonl\", not %q", b.label(inOutputsFile), st.OutputsFormat)
		}
	}

	switch st.OutputsFormat {
	case OutputsTekton:
		dir, err := b.fromWD(resDir.value)
		if err != nil {
			return err
		}
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return errdef.Usagef("%s: directory %q does not exist", b.label(inResultsDir), dir)
		case err != nil:
			return errdef.Usagef("%s: directory %q: %v", b.label(inResultsDir), dir, pathErr(err))
		case !fi.IsDir():
			return errdef.Usagef("%s: %q is not a directory", b.label(inResultsDir), dir)
		}
		st.ResultsDir = dir
	case OutputsDotenv, OutputsJSONL:
		name, src := outFile.value, b.label(inOutputsFile)
		if name == "" {
			name, src = DefaultOutputsFile, `input "outputs_file" (default)`
		}
		if err := checkPathChars(name, src); err != nil {
			return err
		}
		if strings.HasSuffix(name, "/") {
			return errdef.Usagef("%s %q names a directory; give a file name", src, name)
		}
		path, err := b.fromWD(name)
		if err != nil {
			return err
		}
		// Inside the workspace the file is confined as get's file is: the
		// checkout may hold symbolic links, and one must not lead the
		// outputs anywhere else on the runner. A path outside it is the
		// CI system's own (GitLab Functions' ${{ output_file }}), used as
		// given.
		if rel, inside := b.ws.rel(path); inside {
			f := opField{name: inOutputsFile, value: name, where: src, named: true}
			if err := b.ws.outputsFile(f, rel); err != nil {
				return err
			}
			st.outputsRel = rel
		} else if err := checkOutputFile(path, src); err != nil {
			return err
		}
		st.OutputsFile = path
	}
	return nil
}

// fromWD makes p absolute against the working directory.
func (b *stepBuilder) fromWD(p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	wd, err := b.wd()
	if err != nil {
		return "", err
	}
	return filepath.Join(wd, p), nil
}
