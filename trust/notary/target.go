package notary

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/newest"
	"github.com/manifesto-dev/manifesto/trust"
)

// namePrefix is the namespace of manifesto's targets in a GUN.
const namePrefix = "manifesto/"

// custom is the target's custom JSON (see the package documentation).
type custom struct {
	Image     string `json:"image"`
	Key       string `json:"key"`
	MediaType string `json:"media_type"`
	Created   string `json:"created"`
}

// digestHex splits "algo:hex" for the algorithms a TUF target can carry.
func digestHex(d string) (alg string, sum []byte, err error) {
	alg, h, ok := strings.Cut(d, ":")
	want := map[string]int{"sha256": 64, "sha512": 128}[alg]
	if !ok || want == 0 || len(h) != want || strings.ToLower(h) != h {
		return "", nil, fmt.Errorf("%q is not a sha256 or sha512 digest", d)
	}
	sum, err = hex.DecodeString(h)
	if err != nil {
		return "", nil, fmt.Errorf("%q is not a sha256 or sha512 digest", d)
	}
	return alg, sum, nil
}

// checkSubject validates an image digest for use in a target name.
func checkSubject(s string) error {
	if _, _, err := digestHex(s); err != nil {
		return errdef.Usagef("notary: subject: %v", err)
	}
	return nil
}

// checkKey validates a key for use in a target name: no "/" (it separates
// the name's parts), no space or control characters.
func checkKey(k string) error {
	if k == "" || strings.ContainsAny(k, "/") || strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return errdef.Usagef("notary: key %q cannot be part of a target name", k)
	}
	return nil
}

// targetName is the target name of an entry.
func targetName(subject, key, entry string) string {
	return namePrefix + subject + "/" + key + "/" + entry
}

// queryPrefix is the name prefix of every target of subject (key "") or of
// (subject, key).
func queryPrefix(subject, key string) string {
	if key == "" {
		return namePrefix + subject + "/"
	}
	return namePrefix + subject + "/" + key + "/"
}

// parseName splits a target name into its parts; ok is false for names
// outside the namespace or not of the three-part form.
func parseName(name string) (subject, key, entry string, ok bool) {
	rest, found := strings.CutPrefix(name, namePrefix)
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// newTarget builds the target of a binding (validated).
func newTarget(bd trust.Binding) (*client.Target, error) {
	if err := checkSubject(bd.Subject); err != nil {
		return nil, err
	}
	if err := checkKey(bd.Key); err != nil {
		return nil, err
	}
	alg, sum, err := digestHex(bd.Entry)
	if err != nil {
		return nil, errdef.Usagef("notary: entry: %v", err)
	}
	if bd.Size <= 0 {
		return nil, errdef.Usagef("notary: entry %s: size %d", bd.Entry, bd.Size)
	}
	if bd.Created.IsZero() {
		return nil, errdef.Usagef("notary: entry %s: no created time", bd.Entry)
	}
	raw, err := canonicaljson.MarshalCanonical(map[string]string{
		"image":      bd.Subject,
		"key":        bd.Key,
		"media_type": bd.MediaType,
		"created":    bd.Created.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return nil, fmt.Errorf("notary: encode target custom data: %w", err)
	}
	rm := canonicaljson.RawMessage(raw)
	return &client.Target{
		Name:   targetName(bd.Subject, bd.Key, bd.Entry),
		Hashes: data.Hashes{alg: sum},
		Length: bd.Size,
		Custom: &rm,
	}, nil
}

// fromTarget checks a signed target that matched the query prefix against
// its own name and returns the entry it vouches for. Any disagreement is an
// error: a signed target must be self-consistent.
func fromTarget(t *client.TargetWithRole) (subject, key, entry string, size int64, created time.Time, err error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("notary: signed target %q (role %s) is inconsistent: %s", t.Name, t.Role, fmt.Sprintf(format, a...))
	}
	subject, key, entry, ok := parseName(t.Name)
	if !ok {
		return "", "", "", 0, time.Time{}, bad("malformed name")
	}
	alg, sum, derr := digestHex(entry)
	if derr != nil {
		return "", "", "", 0, time.Time{}, bad("%v", derr)
	}
	if got, ok := t.Hashes[alg]; !ok || hex.EncodeToString(got) != hex.EncodeToString(sum) {
		return "", "", "", 0, time.Time{}, bad("%s hash %x does not match the entry digest in the name", alg, got)
	}
	if t.Length <= 0 {
		return "", "", "", 0, time.Time{}, bad("length %d", t.Length)
	}
	if t.Custom == nil {
		return "", "", "", 0, time.Time{}, bad("no custom data")
	}
	var c custom
	if jerr := json.Unmarshal(*t.Custom, &c); jerr != nil {
		return "", "", "", 0, time.Time{}, bad("custom data: %v", jerr)
	}
	if c.Image != subject {
		return "", "", "", 0, time.Time{}, bad("custom image %q, name says %q", c.Image, subject)
	}
	if c.Key != key {
		return "", "", "", 0, time.Time{}, bad("custom key %q, name says %q", c.Key, key)
	}
	created, terr := newest.Parse(c.Created)
	if terr != nil {
		return "", "", "", 0, time.Time{}, bad("custom created: %v", terr)
	}
	return subject, key, entry, t.Length, created, nil
}
