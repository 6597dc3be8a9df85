package inputs

// The operations of a step: one from the single-operation inputs, or one
// per entry of the steps file (stepfile.go), each validated into a
// steps.Request.

import (
	"fmt"
	"path/filepath"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/policy"
	"github.com/manifesto-dev/manifesto/steps"
)

func (b *stepBuilder) singleOp() ([]Op, error) {
	field := func(input string) opField {
		v := b.in[input]
		return opField{name: input, value: v.value, where: b.label(input), named: true}
	}
	spec := opSpec{
		operation: field(inOperation),
		image:     field(inImage),
		key:       field(inKey),
		file:      field(inFile),
		mediaType: field(inMediaType),
		digest:    field(inDigest),
		platform:  field(inPlatform),
		missing: func(input, why string) error {
			return b.required(input, why)
		},
		defaultFile: func(key string) opField {
			return opField{name: inFile, value: filepath.Join(ValueDir, key), where: `input "file" (default)`, named: true}
		},
		transfer: b.given,
	}
	fom := b.in[inFailOnMissing]
	if fom.value != "" {
		val, err := b.boolInput(inFailOnMissing, true)
		if err != nil {
			return nil, err
		}
		spec.failOnMissing = &val
		spec.failOnMissingField = field(inFailOnMissing)
	}
	if err := b.checkInputs(&spec); err != nil {
		return nil, err
	}
	if err := b.repositoryInputs(&spec); err != nil {
		return nil, err
	}
	if id := b.in[inID]; id.value != "" {
		if !stepIDPattern.MatchString(id.value) {
			return nil, errdef.Usagef("%s %q is invalid: use lower-case letters, digits and '_'", b.label(inID), id.value)
		}
		spec.id = id.value
	}
	op, err := b.op(spec)
	if err != nil {
		return nil, err
	}
	return []Op{op}, nil
}

// opField is one setting of an operation and where it came from.
type opField struct {
	name  string // input or steps-file setting
	value string
	// where locates the value for messages: `input "key" (INPUT_KEY)` or
	// `steps file "ci/steps.yml", step "unit" (line 5)`.
	where string
	// named: where already names the setting (inputs).
	named bool
}

// label is where plus the setting, to be followed by the value.
func (f opField) label() string {
	if f.named {
		return f.where
	}
	return f.where + ": " + f.name
}

// wrap prefixes a validator's message (which names the kind of value
// itself, e.g. `key "X" is invalid`) with where the value came from.
func (f opField) wrap(err error) error {
	return errdef.Usagef("%s: %s", f.where, err.Error())
}

// opSpec is one operation before validation.
type opSpec struct {
	id                                                       string
	operation, image, key, file, mediaType, digest, platform opField
	failOnMissing                                            *bool
	failOnMissingField                                       opField
	// policy is check's compiled policy; failOnUnmet its fail_on_unmet
	// (default true). Set only for a check of the single-operation form.
	policy      *policy.Policy
	failOnUnmet bool
	// repository is search's or migrate's settings. Set only for those
	// operations of the single-operation form.
	repository *repositorySpec
	// transfer reads the settings of copy and prune (buildTransfer); set
	// only for the single-operation form, where they are inputs.
	transfer func(name string) given
	// missing is the error for a required setting left empty; why is ""
	// or ` for operation "get"`.
	missing func(setting, why string) error
	// defaultFile is the get file used when file is empty.
	defaultFile func(key string) opField
}

// op validates one operation.
func (b *stepBuilder) op(s opSpec) (Op, error) {
	opName := s.operation.value
	switch opName {
	case steps.OpPut, steps.OpGet, steps.OpList, steps.OpHistory, steps.OpDelete:
	case steps.OpCopy, steps.OpPrune:
		if s.transfer == nil {
			return Op{}, errdef.Usagef("%s %q runs as the single operation of a step, not in a steps file", s.operation.label(), opName)
		}
	case steps.OpCheck:
		if s.policy == nil {
			return Op{}, errdef.Usagef("%s %q runs as the single operation of a step (inputs policy, policy_file, require), not in a steps file", s.operation.label(), opName)
		}
	case steps.OpSearch, steps.OpMigrate:
		if s.repository == nil {
			return Op{}, errdef.Usagef("%s %q runs as the single operation of a step (its image input names the repository), not in a steps file", s.operation.label(), opName)
		}
	case "":
		return Op{}, s.missing(inOperation, "")
	default:
		return Op{}, errdef.Usagef("%s %q is not an operation: want put, get, list, history, delete, check, copy, prune, search or migrate", s.operation.label(), opName)
	}
	forOp := fmt.Sprintf(" for operation %q", opName)
	notFor := func(f opField) error {
		return errdef.Usagef("%s does not apply to operation %q", f.label(), opName)
	}

	req := steps.Request{Operation: opName, Platform: s.platform.value}
	if s.image.value == "" {
		return Op{}, s.missing(inImage, "")
	}
	req.Image = s.image.value
	if isRepositoryOp(opName) {
		if err := checkRepository(req.Image, b.plainHTTP); err != nil {
			return Op{}, s.image.wrap(err)
		}
		req.Search, req.Migrate = s.repository.search, s.repository.migrate
	} else if err := checkImage(req.Image, b.plainHTTP); err != nil {
		return Op{}, s.image.wrap(err)
	}

	switch {
	case opName == steps.OpCopy || opName == steps.OpPrune:
		// Keys, one per line, are read with the other settings of these
		// two (buildTransfer).
	case opName == steps.OpSearch:
		// search's key input: keys, one per line (repositoryInputs).
	case opName == steps.OpList || opName == steps.OpCheck || opName == steps.OpMigrate:
		if s.key.value != "" {
			return Op{}, notFor(s.key)
		}
	default:
		if s.key.value == "" {
			return Op{}, s.missing(inKey, forOp)
		}
		req.Key = s.key.value
		if err := checkKey(req.Key); err != nil {
			return Op{}, s.key.wrap(err)
		}
	}

	if mt := s.mediaType; mt.value != "" {
		if opName != steps.OpPut {
			return Op{}, notFor(mt)
		}
		if err := checkMediaType(mt.value, mt.label()); err != nil {
			return Op{}, err
		}
		req.MediaType = mt.value
	}
	if d := s.digest; d.value != "" {
		if opName != steps.OpGet && opName != steps.OpDelete {
			return Op{}, notFor(d)
		}
		if err := checkDigest(d.value, d.label()); err != nil {
			return Op{}, err
		}
		req.Digest = d.value
	}
	if p := s.platform; p.value != "" {
		if isRepositoryOp(opName) {
			return Op{}, notFor(p)
		}
		if err := checkPlatform(p.value, p.label()); err != nil {
			return Op{}, err
		}
	}

	switch opName {
	case steps.OpPut:
		if s.file.value == "" {
			return Op{}, s.missing(inFile, forOp)
		}
		path, err := b.ws.inputFile(s.file)
		if err != nil {
			return Op{}, err
		}
		req.File = path
	case steps.OpGet:
		f := s.file
		if f.value == "" {
			f = s.defaultFile(req.Key)
		}
		path, err := b.ws.outputFile(f)
		if err != nil {
			return Op{}, err
		}
		req.File = path
	default:
		if s.file.value != "" {
			return Op{}, notFor(s.file)
		}
	}

	op := Op{ID: s.id, FailOnMissing: true}
	if opName == steps.OpCheck {
		req.Policy, op.FailOnUnmet = s.policy, s.failOnUnmet
	}
	if s.failOnMissing != nil && !*s.failOnMissing {
		if opName != steps.OpGet {
			return Op{}, errdef.Usagef("%s is false, but only get can treat a missing key as found=false, not %q", s.failOnMissingField.label(), opName)
		}
		op.FailOnMissing = false
	}
	req.Registry = b.registry(req.Image)
	req.Trust = b.trust
	if s.transfer != nil {
		if err := buildTransfer(opName, s.transfer, parseStepBool, &req); err != nil {
			return Op{}, err
		}
		if opName == steps.OpCopy {
			req.Copy.Registry = b.registry(req.Copy.Destination)
		}
	}
	op.Request = req
	return op, nil
}

// checkGetTargets rejects two gets writing the same file, and a get writing
// the outputs file.
func checkGetTargets(ops []Op, outputsFile string) error {
	seen := map[string]int{}
	for i, op := range ops {
		if op.Request.Operation != steps.OpGet {
			continue
		}
		if outputsFile != "" && op.Request.File == outputsFile {
			who := "get"
			if len(ops) > 1 || op.ID != "" {
				who = opName(op, i)
			}
			return errdef.Usagef("%s writes %q, which is also the outputs file; give it another file", who, op.Request.File)
		}
		if j, dup := seen[op.Request.File]; dup {
			return errdef.Usagef("%s and %s both write %q; give one of them another file", opName(ops[j], j), opName(op, i), op.Request.File)
		}
		seen[op.Request.File] = i
	}
	return nil
}

func opName(op Op, i int) string {
	if op.ID != "" {
		return fmt.Sprintf("step %q", op.ID)
	}
	return fmt.Sprintf("step %d", i+1)
}
