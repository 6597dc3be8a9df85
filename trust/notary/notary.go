// Package notary implements trust.Signer and trust.Verifier with a Notary
// server, i.e. The Update Framework (TUF) metadata of the Notary project
// (github.com/theupdateframework/notary v0.7.0).
//
// # Model
//
// The GUN (Notary's "globally unique name") is Binding.Repository, the image
// repository without tag or digest ("registry.example.com/team/app"), the
// same GUN Docker Content Trust uses for that repository. Its TUF repository
// holds one signed target per entry version (one entry manifest):
//
//	name    manifesto/<subject digest>/<key>/<entry digest>
//	        manifesto/sha256:5f1c…e2/test-results/sha256:9a0b…7d
//	hashes  {"sha256": <the entry digest's 32 bytes>}   (sha512 for a sha512 entry digest)
//	length  the entry manifest's size in bytes
//	custom  canonical JSON (sorted keys, no insignificant space):
//	        {"created":"2026-01-02T03:04:05.123456789Z","image":"sha256:5f1c…e2","key":"test-results","media_type":"application/json"}
//
// The target name carries the lookup key, so (subject, key) → entries is a
// prefix match on names ("manifesto/<subject>/<key>/") and every entry of a
// subject is the prefix "manifesto/<subject>/". Digests contain no "/" and
// keys may not contain one, so a name splits unambiguously into its three
// parts. The "manifesto/" namespace keeps these targets apart from Docker
// Content Trust's tag targets in the same GUN (tags cannot contain "/").
// "created" is the entry's created time in UTC, RFC 3339 with nanoseconds;
// "image" is the subject digest, "key" the key and "media_type" the value's
// media type. Verify cross-checks the name against the custom JSON (image,
// key) and the hash (entry digest); any disagreement in a target that matches
// the query is an error, never a silently skipped entry. Readers ignore
// unknown custom fields and every target outside "manifesto/".
//
// # Roles and keys
//
// Init creates the repository like `notary init` with server-managed
// snapshot: a new root key and targets key in TrustDir (the notary CLI
// layout: private keys in TrustDir/private/<key id>.key, TUF metadata cached
// in TrustDir/tuf/<GUN>/metadata), the timestamp and snapshot keys held by
// the server. Sign publishes into Options.Role: "targets" itself, or a
// delegation such as "targets/ci" created with the targets key (`notary
// delegation add GUN targets/ci ci.crt --all-paths`, or paths covering
// "manifesto/"), so that CI holds only the delegation key (Options.Key: an
// encrypted PEM, decrypted in memory, never written to TrustDir). Verify
// accepts targets signed by Options.Role or a delegation below it; with the
// default "targets" that is the whole tree the targets key vouches for.
//
// # Trust and failure
//
// Every read runs the full TUF update: root (pinned: the root key ID
// Options.RootKeyID must be a key of the root role and have signed it,
// checked on every call, also against a root cached from an earlier run; or
// the owner's trust dir, which holds a root key of the cached root and
// counts as that pin, see anchorFor; or explicit TOFU), then a
// timestamp that must come from the server in this very call (a cached one is
// never accepted, so an unreachable server is an error and not a stale
// answer), snapshot and targets, each checked for signatures, expiry and
// version rollback against the cache in TrustDir. Metadata fetched during a
// call reaches the cache only after all of these checks passed. Anything
// that fails is an error; Verify returns an empty list only when trust was
// fully established and no target matched.
//
// The pin is the canonical root key ID, as Init returns it and as `notary
// key list` shows it; the ID of the root certificate key in root.json is
// accepted too.
package notary

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/httpx"
	"github.com/manifesto-dev/manifesto/trust"
)

// Options configure a Backend.
type Options struct {
	// Server is the Notary server URL, e.g. "https://notary.example.com:4443".
	Server string
	// TrustDir is the Notary client directory (the notary CLI's layout:
	// private/ and tuf/). Required; the caller resolves the ~/.notary
	// default.
	TrustDir string
	// Role signs (and bounds what Verify accepts): "targets" (default) or a
	// delegation such as "targets/ci".
	Role string
	// Key is an optional PEM private key of Role (normally encrypted, with
	// the passphrase from Passphrase(Role)), for CI without a trust dir. It
	// is decrypted in memory by New and never written to TrustDir.
	Key string
	// RootKeyID pins the repository's root key (64 hex). Sign, Verify and
	// RemoveTargets require it unless TOFU is set or TrustDir holds a root
	// key of the repository's cached root (the owner's, from Init).
	RootKeyID string
	// TOFU explicitly trusts the root the server presents on first use (and
	// then the root cached in TrustDir).
	TOFU bool
	// Passphrase returns the passphrase of a key of the given role ("root",
	// "targets", "snapshot" or a delegation name). See EnvPassphrase.
	Passphrase func(role string) (string, error)
	// Transport is the HTTP transport to the server (default: a transport
	// with connect and response-header timeouts).
	Transport http.RoundTripper
}

// Backend signs and verifies entries with a Notary server. It is safe for
// concurrent use; it keeps no state between calls besides what TrustDir
// holds.
type Backend struct {
	server    string
	trustDir  string
	role      data.RoleName
	rootKeyID string
	tofu      bool
	pass      func(role string) (string, error)
	transport http.RoundTripper
	// imported is Options.Key, decrypted.
	imported data.PrivateKey
}

var (
	_ trust.Signer   = (*Backend)(nil)
	_ trust.Verifier = (*Backend)(nil)
)

// PassphraseEnv names the environment variable Notary's own CLI reads the
// passphrase of a role's key from: NOTARY_ROOT_PASSPHRASE,
// NOTARY_TARGETS_PASSPHRASE, NOTARY_SNAPSHOT_PASSPHRASE, and
// NOTARY_DELEGATION_PASSPHRASE for every delegation role.
func PassphraseEnv(role string) string {
	switch data.RoleName(role) {
	case data.CanonicalRootRole:
		return "NOTARY_ROOT_PASSPHRASE"
	case data.CanonicalTargetsRole:
		return "NOTARY_TARGETS_PASSPHRASE"
	case data.CanonicalSnapshotRole:
		return "NOTARY_SNAPSHOT_PASSPHRASE"
	default:
		return "NOTARY_DELEGATION_PASSPHRASE"
	}
}

// EnvPassphrase returns an Options.Passphrase that reads the variable
// PassphraseEnv(role) through getenv (os.Getenv, or the step's inputs). An
// unset or empty variable is a usage error naming it.
func EnvPassphrase(getenv func(string) string) func(role string) (string, error) {
	return func(role string) (string, error) {
		name := PassphraseEnv(role)
		if v := getenv(name); v != "" {
			return v, nil
		}
		return "", errdef.Usagef("%s is not set (the passphrase of the notary %s key)", name, role)
	}
}

// New validates o and returns a Backend. Option errors are usage errors
// (errdef.ErrUsage); nothing is sent anywhere.
func New(o Options) (*Backend, error) {
	b := &Backend{tofu: o.TOFU, pass: o.Passphrase}

	srv := strings.TrimRight(strings.TrimSpace(o.Server), "/")
	if srv == "" {
		return nil, errdef.Usagef("notary: no server URL (notary_server)")
	}
	u, err := url.Parse(srv)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errdef.Usagef("notary: server %q is not an http(s) URL", o.Server)
	}
	b.server = srv

	if strings.TrimSpace(o.TrustDir) == "" {
		return nil, errdef.Usagef("notary: no trust directory (trust_dir)")
	}
	b.trustDir = filepath.Clean(o.TrustDir)

	role := strings.TrimSpace(o.Role)
	if role == "" {
		role = data.CanonicalTargetsRole.String()
	}
	b.role = data.RoleName(role)
	if b.role != data.CanonicalTargetsRole && !data.IsDelegation(b.role) {
		return nil, errdef.Usagef("notary: role %q is neither %q nor a delegation of it such as \"targets/ci\"", role, data.CanonicalTargetsRole)
	}

	if o.RootKeyID != "" {
		id := strings.ToLower(strings.TrimSpace(o.RootKeyID))
		if len(id) != 64 || !isHex(id) {
			return nil, errdef.Usagef("notary: root key ID %q is not 64 hex digits (notary_root_key_id)", o.RootKeyID)
		}
		b.rootKeyID = id
	}

	b.transport = o.Transport
	if b.transport == nil {
		b.transport = defaultTransport()
	}

	if strings.TrimSpace(o.Key) != "" {
		k, err := b.decryptKey([]byte(o.Key))
		if err != nil {
			return nil, err
		}
		b.imported = k
	}
	return b, nil
}

// defaultTransport talks to the server with bounded connect, TLS and
// response-header times (internal/httpx); the caller's context bounds the
// rest.
func defaultTransport() http.RoundTripper {
	return httpx.Transport(false)
}

// ctxTransport attaches ctx to every request, so that the Notary client
// (which knows no contexts) is cancelled with the caller.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

// RoundTrip sends req under t.ctx, or fails at once when t.ctx ended.
func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req.WithContext(t.ctx))
}

// checkGUN refuses GUNs the server cannot route or that would escape the
// metadata cache directory.
func checkGUN(gun string) error {
	if gun == "" {
		return errdef.Usagef("notary: empty repository (GUN)")
	}
	if strings.ContainsAny(gun, "*\\ \t\r\n") || strings.HasPrefix(gun, "/") || strings.HasSuffix(gun, "/") {
		return errdef.Usagef("notary: repository %q is not a valid GUN", gun)
	}
	for _, seg := range strings.Split(gun, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errdef.Usagef("notary: repository %q is not a valid GUN", gun)
		}
	}
	return nil
}

// cacheDir is where the notary CLI caches the TUF metadata of gun.
func (b *Backend) cacheDir(gun string) string {
	return filepath.Join(b.trustDir, "tuf", filepath.FromSlash(gun), "metadata")
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s)%2 == 0
}

// shortID is the short form of a key ID used in Signer strings.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// canonicalID returns the canonical ID of k (for a certificate key, the ID
// of the public key inside it: the private key's ID).
func canonicalID(k data.PublicKey) string {
	if id, err := utils.CanonicalKeyID(k); err == nil {
		return id
	}
	return k.ID()
}

// serverErr wraps an error from talking to the server with its address;
// when ctx ended, the context's error is what the caller gets.
func (b *Backend) serverErr(ctx context.Context, op, gun string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("notary: %s %s: %w", op, gun, cerr)
	}
	return fmt.Errorf("notary: %s %s on %s: %w", op, gun, b.server, describe(err))
}

// ctxOr returns ctx's error when ctx ended, else err.
func (b *Backend) ctxOr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}
