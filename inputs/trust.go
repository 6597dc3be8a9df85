package inputs

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

// Trust inputs, the same names for the CLI (--notary-server) and the step
// (notary_server).
const (
	inTrust           = "trust"
	inVerify          = "verify"
	inNotaryServer    = "notary_server"
	inTrustDir        = "trust_dir"
	inNotaryRole      = "notary_role"
	inNotaryKey       = "notary_key"
	inNotaryRootKeyID = "notary_root_key_id"
	inNotaryTOFU      = "notary_tofu"
)

var trustInputNames = []string{inTrust, inVerify, inNotaryServer, inTrustDir, inNotaryRole, inNotaryKey, inNotaryRootKeyID, inNotaryTOFU}

// flagOf is the CLI flag of an input: notary_server is --notary-server.
func flagOf(input string) string { return strings.ReplaceAll(input, "_", "-") }

var (
	rootKeyIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	rolePattern      = regexp.MustCompile(`^targets(/[a-zA-Z0-9_.-]+)*$`)
)

// trustValue is one trust input as given: its value, where it came from
// (for messages), and whether it was given at all.
type trustValue struct {
	value string
	from  string
	set   bool
}

// buildTrust validates the trust inputs into steps.TrustOptions. get returns
// an input's value; home is the user's home directory for the default
// trust_dir. parseBool parses a boolean input the caller's way.
func buildTrust(get func(input string) trustValue, home string, parseBool func(s string) (bool, bool)) (steps.TrustOptions, error) {
	var o steps.TrustOptions
	backend := get(inTrust)
	switch backend.value {
	case "", "none":
		// Settings without a backend are a mistake worth reporting: they
		// would be silently ignored.
		for _, in := range trustInputNames[2:] {
			v := get(in)
			if on, ok := parseBool(v.value); in == inNotaryTOFU && ok && !on {
				continue // false is as good as unset
			}
			if v.set {
				return o, errdef.Usagef("%s is set but %s is not: set %s=notary to use Notary", v.from, inTrust, inTrust)
			}
		}
		if v := get(inVerify); v.set {
			if on, ok := parseBool(v.value); ok && on {
				return o, errdef.Usagef("%s asks for verified reads but %s is not set", v.from, inTrust)
			}
		}
		return o, nil
	case steps.TrustNotary:
		o.Backend = steps.TrustNotary
	case "sigstore":
		return o, errdef.Usagef("%s %q is not available yet; use %q", backend.from, backend.value, steps.TrustNotary)
	default:
		return o, errdef.Usagef("%s %q is not a trust backend; use %q", backend.from, backend.value, steps.TrustNotary)
	}

	o.Verify = true
	if v := get(inVerify); v.set {
		on, ok := parseBool(v.value)
		if !ok {
			return o, errdef.Usagef("%s %q is not a boolean (true or false)", v.from, v.value)
		}
		o.Verify = on
	}
	n := &o.Notary
	server := get(inNotaryServer)
	if !server.set {
		return o, errdef.Usagef("%s=notary needs %s, the Notary server URL", inTrust, inNotaryServer)
	}
	u, err := url.Parse(server.value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return o, errdef.Usagef("%s %q is not an http(s) URL of a Notary server", server.from, server.value)
	}
	n.Server = strings.TrimSuffix(server.value, "/")

	n.TrustDir = get(inTrustDir).value
	if n.TrustDir == "" {
		if home == "" {
			return o, errdef.Usagef("%s is not set and there is no home directory for the default ~/.notary", inTrustDir)
		}
		n.TrustDir = filepath.Join(home, ".notary")
	} else if strings.HasPrefix(n.TrustDir, "~/") && home != "" {
		n.TrustDir = filepath.Join(home, n.TrustDir[2:])
	}

	n.Role = "targets"
	if r := get(inNotaryRole); r.set {
		if !rolePattern.MatchString(r.value) {
			return o, errdef.Usagef("%s %q is not a targets role (targets, or a delegation such as targets/ci)", r.from, r.value)
		}
		n.Role = r.value
	}

	if k := get(inNotaryKey); k.set {
		pem := k.value
		if !strings.Contains(pem, "-----BEGIN") {
			// Not PEM content: a path to a PEM file.
			b, err := os.ReadFile(pem)
			if err != nil {
				return o, errdef.Usagef("%s is neither a PEM private key nor a readable file", k.from)
			}
			pem = string(b)
		}
		if !strings.Contains(pem, "PRIVATE KEY-----") {
			return o, errdef.Usagef("%s is not a PEM private key", k.from)
		}
		n.Key = pem
	}

	if id := get(inNotaryRootKeyID); id.set {
		if !rootKeyIDPattern.MatchString(id.value) {
			return o, errdef.Usagef("%s %q is not a root key ID (64 lower-case hex digits, as `manifesto trust init` prints)", id.from, id.value)
		}
		n.RootKeyID = id.value
	}
	if t := get(inNotaryTOFU); t.set {
		on, ok := parseBool(t.value)
		if !ok {
			return o, errdef.Usagef("%s %q is not a boolean (true or false)", t.from, t.value)
		}
		n.TOFU = on
	}
	if n.RootKeyID != "" && n.TOFU {
		return o, errdef.Usagef("%s and %s=true contradict each other: pin the root or trust it on first use", inNotaryRootKeyID, inNotaryTOFU)
	}
	return o, nil
}
