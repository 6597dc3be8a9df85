package inputs

// The steps file: several operations in one CI step.
//
//	image: registry.example.com/team/app@sha256:...   # default image for entries
//	steps:
//	  - id: unit            # optional; [a-z0-9_]+, unique
//	    operation: put
//	    key: test-results
//	    file: reports/unit.json
//	    media_type: application/json
//	  - id: profile
//	    operation: get
//	    key: seccomp
//	    fail_on_missing: false
//
// Registry settings (username, password, plain_http, insecure) come from the
// step's inputs and apply to every entry; the platform and fail_on_missing
// inputs are defaults an entry may override (fail_on_missing only for get
// entries).
//
// An id is optional, as a GitHub step's is: an entry with one exports its
// outputs as <id>_<name>, one without exports none of its own (the last
// entry, with an id or not, also exports the plain names).

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/oneline"
	"github.com/manifesto-dev/manifesto/steps"
)

// maxStepsFile bounds what is read of a steps file.
const maxStepsFile = 1 << 20

// stepFile is the document. Decoded strictly: unknown settings are errors.
type stepFile struct {
	Image string      `yaml:"image"`
	Steps []stepEntry `yaml:"steps"`
}

// stepEntry is one element of steps.
type stepEntry struct {
	ID            string   `yaml:"id"`
	Operation     string   `yaml:"operation"`
	Image         string   `yaml:"image"`
	Key           string   `yaml:"key"`
	File          string   `yaml:"file"`
	MediaType     string   `yaml:"media_type"`
	Digest        string   `yaml:"digest"`
	Platform      string   `yaml:"platform"`
	FailOnMissing yamlBool `yaml:"fail_on_missing"`
}

const (
	stepFileSettings  = "image, steps"
	stepEntrySettings = "id, operation, image, key, file, media_type, digest, platform, fail_on_missing"
)

// yamlBool is a boolean setting that accepts what boolean inputs accept
// (true/false/1/0/yes/no, any case) and remembers whether it was set.
type yamlBool struct {
	set, val bool
}

func (v *yamlBool) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if val, ok := parseStepBool(n.Value); ok {
			v.set, v.val = true, val
			return nil
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: fail_on_missing must be true or false (also 1/0, yes/no), not %q", n.Line, n.Value)}}
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: fail_on_missing must be true or false, not %s", n.Line, nodeKind(n.Kind))}}
}

func nodeKind(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a scalar"
}

// stepIDPattern is what an entry's id may be: it becomes part of output
// names, which dotenv files restrict to letters, digits and '_'.
var stepIDPattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// stepFileLines are the line numbers of a decoded steps file.
type stepFileLines struct {
	image int
	steps []entryLines
}

type entryLines struct {
	line   int            // the entry's first line
	fields map[string]int // setting -> line of its key
}

// fromStepsFile reads, decodes and validates the steps file.
func (b *stepBuilder) fromStepsFile() ([]Op, error) {
	sf := b.in[inStepsFile]
	for _, n := range []string{inOperation, inKey, inFile, inMediaType, inDigest, inID} {
		if b.in[n].value != "" {
			return nil, errdef.Usagef("%s cannot be used together with %s: set %s on the steps in the steps file", b.label(n), b.label(inStepsFile), n)
		}
	}
	data, err := b.readStepsFile()
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("steps file %q", sf.value)
	doc, lines, err := parseStepsFile(data)
	if err != nil {
		return nil, errdef.Usagef("%s: %s", where, err.Error())
	}
	if len(doc.Steps) == 0 {
		return nil, errdef.Usagef("%s has no steps: want a \"steps:\" list of operations", where)
	}

	// The default image: the file's, or the image input.
	image := opField{name: inImage}
	if in := b.in[inImage]; in.value != "" {
		if doc.Image != "" {
			return nil, errdef.Usagef("%s and the image of %s (line %d) are both set; keep one", b.label(inImage), where, lines.image)
		}
		image = opField{name: inImage, value: in.value, where: b.label(inImage), named: true}
	} else if doc.Image != "" {
		image = opField{name: inImage, value: doc.Image, where: fmt.Sprintf("%s (line %d)", where, lines.image)}
	}

	var fomInput *bool
	if b.in[inFailOnMissing].value != "" {
		val, err := b.boolInput(inFailOnMissing, true)
		if err != nil {
			return nil, err
		}
		fomInput = &val
	}

	// Ids first: every later message names the entry by its id (or, if it
	// has none, by its position).
	ids := map[string]int{}
	for i, e := range doc.Steps {
		ln := lines.steps[i]
		switch {
		case e.ID == "":
		case !stepIDPattern.MatchString(e.ID):
			return nil, errdef.Usagef("%s: id %q is invalid: use lower-case letters, digits and '_'", entryLoc(where, "", i, ln.line), e.ID)
		default:
			if first, dup := ids[e.ID]; dup {
				return nil, errdef.Usagef("%s: id %q is already used by the step at line %d", entryLoc(where, "", i, ln.line), e.ID, lines.steps[first].line)
			}
			ids[e.ID] = i
		}
	}

	ops := make([]Op, 0, len(doc.Steps))
	for i, e := range doc.Steps {
		ln := lines.steps[i]
		loc := entryLoc(where, e.ID, i, ln.line)
		field := func(setting, value string) opField {
			line, ok := ln.fields[setting]
			if !ok {
				line = ln.line
			}
			return opField{name: setting, value: value, where: entryLoc(where, e.ID, i, line)}
		}
		spec := opSpec{
			id:        e.ID,
			operation: field(inOperation, e.Operation),
			image:     image,
			key:       field(inKey, e.Key),
			file:      field(inFile, e.File),
			mediaType: field(inMediaType, e.MediaType),
			digest:    field(inDigest, e.Digest),
			platform:  field(inPlatform, e.Platform),
			missing: func(setting, why string) error {
				if setting == inImage {
					why = ` (on the step, at the top of the steps file, or as input "image")`
				}
				return errdef.Usagef("%s: %s is required%s", loc, setting, why)
			},
			defaultFile: func(key string) opField {
				f := field(inFile, ValueDir+"/"+key)
				f.name = "file (default)"
				return f
			},
		}
		if e.Image != "" {
			spec.image = field(inImage, e.Image)
		}
		if e.Platform == "" && b.in[inPlatform].value != "" {
			spec.platform = opField{name: inPlatform, value: b.in[inPlatform].value, where: b.label(inPlatform), named: true}
		}
		switch {
		case e.FailOnMissing.set:
			val := e.FailOnMissing.val
			spec.failOnMissing = &val
			spec.failOnMissingField = field(inFailOnMissing, strconv.FormatBool(val))
		case fomInput != nil && e.Operation == steps.OpGet:
			spec.failOnMissing = fomInput
			spec.failOnMissingField = opField{name: inFailOnMissing, where: b.label(inFailOnMissing), named: true}
		}
		op, err := b.op(spec)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// entryLoc names an entry for messages: `steps file "s.yml", step "unit"
// (line 4)`, or by its 1-based position when it has no id.
func entryLoc(where, id string, i, line int) string {
	if id != "" {
		return fmt.Sprintf("%s, step %q (line %d)", where, id, line)
	}
	return fmt.Sprintf("%s, step %d (line %d)", where, i+1, line)
}

// readStepsFile reads the steps_file input's file, a regular file.
//
// Decision: a path inside the workspace (every relative one) is opened
// through the workspace's os.Root, as put's file is, so a symbolic link in
// the checkout cannot make the step read (and quote, in its parse errors) a
// file elsewhere on the runner. An absolute path outside the workspace is
// the pipeline author's explicit choice (a Tekton ConfigMap mounted at
// /config, say) and is read as given.
func (b *stepBuilder) readStepsFile() ([]byte, error) {
	f := opField{name: inStepsFile, value: b.in[inStepsFile].value, where: b.label(inStepsFile), named: true}
	if err := checkPathChars(f.value, f.label()); err != nil {
		return nil, err
	}
	path := b.ws.abs(f.value)
	if strings.HasSuffix(f.value, "/") {
		return nil, errdef.Usagef("%s %q is a directory; give the steps file", f.label(), f.value)
	}
	var file *os.File
	var err error
	rel, inside := b.ws.rel(path)
	switch {
	case inside:
		file, err = b.ws.root.Open(rel)
	case filepath.IsAbs(f.value):
		file, err = os.Open(path)
	default:
		return nil, errdef.Usagef("%s %q is outside the workspace %q (%s)", f.label(), f.value, b.ws.dir, path)
	}
	switch {
	case escapes(err):
		return nil, b.ws.escaped(f)
	case errors.Is(err, fs.ErrNotExist):
		return nil, errdef.Usagef("%s %q: file %q does not exist", f.label(), f.value, path)
	case err != nil:
		return nil, errdef.Usagef("%s %q cannot be read: %v", f.label(), f.value, pathErr(err))
	}
	defer file.Close()
	fi, err := file.Stat()
	switch {
	case err != nil:
		return nil, errdef.Usagef("%s %q cannot be read: %v", f.label(), f.value, pathErr(err))
	case fi.IsDir():
		return nil, errdef.Usagef("%s %q is a directory; give the steps file", f.label(), f.value)
	case !fi.Mode().IsRegular():
		return nil, errdef.Usagef("%s %q is not a regular file", f.label(), f.value)
	}
	data, err := io.ReadAll(io.LimitReader(file, maxStepsFile+1))
	if err != nil {
		return nil, errdef.Usagef("%s %q cannot be read: %v", f.label(), f.value, pathErr(err))
	}
	if len(data) > maxStepsFile {
		return nil, errdef.Usagef("%s %q is larger than %d bytes", f.label(), f.value, maxStepsFile)
	}
	return data, nil
}

// parseStepsFile decodes one YAML document strictly. Errors carry line
// numbers and do not start with "yaml: ".
func parseStepsFile(data []byte) (stepFile, stepFileLines, error) {
	var doc stepFile
	var root yaml.Node
	rootErr := yaml.Unmarshal(data, &root) // for line numbers

	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, stepFileLines{}, errors.New("the file is empty: want image and a steps list")
		}
		var names map[int]string
		if rootErr == nil {
			names = valueLines(&root)
		}
		return doc, stepFileLines{}, errors.New(yamlMessage(err, names))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return doc, stepFileLines{}, errors.New(yamlMessage(err, nil))
		}
		return doc, stepFileLines{}, fmt.Errorf("line %d: a second YAML document; the file must hold one", line)
	}
	if rootErr != nil { // cannot happen once Decode succeeded
		return doc, stepFileLines{}, errors.New(yamlMessage(rootErr, nil))
	}
	return doc, fileLines(&root, len(doc.Steps)), nil
}

// fileLines finds the line numbers of the image setting and every entry.
func fileLines(root *yaml.Node, n int) stepFileLines {
	out := stepFileLines{steps: make([]entryLines, n)}
	for i := range out.steps {
		out.steps[i] = entryLines{line: 1, fields: map[string]int{}}
	}
	top := mappingOf(root)
	if top == nil {
		return out
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "image":
			out.image = k.Line
		case "steps":
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for j, item := range v.Content {
				if j >= n {
					break
				}
				out.steps[j].line = item.Line
				if m := mappingOf(item); m != nil {
					for f := 0; f+1 < len(m.Content); f += 2 {
						out.steps[j].fields[m.Content[f].Value] = m.Content[f].Line
					}
				}
			}
		}
	}
	return out
}

// mappingOf returns the mapping n is, holds (a document) or points to (an
// alias).
func mappingOf(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		case yaml.MappingNode:
			return n
		default:
			return nil
		}
	}
	return nil
}

// valueLines maps the line of every mapping value to its setting name, to
// name the setting in yaml's type errors ("line 7: cannot unmarshal !!seq
// into string"). A line holding several values maps to "".
func valueLines(n *yaml.Node) map[int]string {
	names := map[int]string{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if have, seen := names[v.Line]; seen && have != k.Value {
					names[v.Line] = ""
				} else {
					names[v.Line] = k.Value
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return names
}

var (
	yamlUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)
	yamlWrongType    = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `.*`)? into (\\S+)$")
)

// maxYAMLErrors bounds how many of yaml's collected errors one message shows.
const maxYAMLErrors = 3

// yamlMessage turns a yaml.v3 error into one line that speaks of settings
// and steps rather than Go types.
func yamlMessage(err error, names map[int]string) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return oneline.Line(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, 0, len(te.Errors))
	for i, e := range te.Errors {
		if i == maxYAMLErrors {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(te.Errors)-maxYAMLErrors))
			break
		}
		msgs = append(msgs, yamlTypeMessage(e, names))
	}
	return strings.Join(msgs, "; ")
}

func yamlTypeMessage(e string, names map[int]string) string {
	if m := yamlUnknownField.FindStringSubmatch(e); m != nil {
		switch m[3] {
		case "inputs.stepEntry":
			return fmt.Sprintf("line %s: unknown setting %q in a step (known: %s)", m[1], m[2], stepEntrySettings)
		case "inputs.stepFile":
			return fmt.Sprintf("line %s: unknown setting %q at the top level (known: %s)", m[1], m[2], stepFileSettings)
		}
		return fmt.Sprintf("line %s: unknown setting %q", m[1], m[2])
	}
	if m := yamlWrongType.FindStringSubmatch(e); m != nil {
		got := map[string]string{
			"seq": "a list", "map": "a mapping", "str": "a string", "int": "a number",
			"float": "a number", "bool": "a boolean", "null": "null", "binary": "binary data",
			"timestamp": "a timestamp",
		}[m[2]]
		if got == "" {
			got = "!!" + m[2]
		}
		subject, want := "", ""
		switch m[3] {
		case "string":
			subject, want = "the value", "a string"
			if line, err := strconv.Atoi(m[1]); err == nil && names[line] != "" {
				subject = names[line]
			}
		case "inputs.stepEntry":
			subject, want = "each step", "a mapping of settings ("+stepEntrySettings+")"
		case "[]inputs.stepEntry":
			subject, want = "steps", "a list of steps"
		case "inputs.stepFile":
			subject, want = "the steps file", "a mapping with "+stepFileSettings
		default:
			return oneline.Line(e)
		}
		return fmt.Sprintf("line %s: %s must be %s, not %s", m[1], subject, want, got)
	}
	return oneline.Line(e)
}
