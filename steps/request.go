// Package steps holds the operations. Each takes a validated Request and
// returns a Result; nothing here formats output for a person or a CI system.
package steps

import (
	"io"
	"time"

	"github.com/manifesto-dev/manifesto/internal/policy"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust/notary"
	"github.com/manifesto-dev/manifesto/trust/sigstore"
)

// Operations.
const (
	OpPut     = "put"
	OpGet     = "get"
	OpList    = "list"
	OpHistory = "history"
	OpDelete  = "delete"
	OpRepair  = "repair"
	// OpCopy copies the image and its entries to Destination (copy.go).
	OpCopy = "copy"
	// OpPrune removes old versions (prune.go).
	OpPrune = "prune"
	// OpTrustInit creates the image repository's trust data (Notary).
	OpTrustInit = "trust-init"
	// OpSearch and OpMigrate work on a whole repository (Image holds it):
	// which images carry which keys; importing the original tool's index.
	OpSearch  = "search"
	OpMigrate = "migrate"
)

// DefaultTimeout is the --timeout of an operation not given one.
const DefaultTimeout = 10 * time.Minute

// MaxTextValue is the largest value get also returns in Result.Value.
const MaxTextValue = 64 << 10

// Request is one operation, normalised and validated by package inputs.
type Request struct {
	Operation string
	// Image is the reference as the user wrote it (registry reference or
	// oci:PATH[:tag|@digest]).
	Image string
	Key   string
	// File: for put, the value's source ("-" = Stdin); for get, where to
	// write the value ("" = Stdout).
	File string
	// MediaType overrides the inferred media type on put.
	MediaType string
	// Digest selects one entry (delete --digest, get --digest).
	Digest string
	// Platform ("os/arch[/variant]") picks a platform manifest out of an
	// image index as the subject.
	Platform string
	// Policy is check's requirements, compiled (package inputs compiles
	// them before any network call).
	Policy *policy.Policy
	// Search and Migrate are the settings of those operations.
	Search  SearchOptions
	Migrate MigrateOptions
	// Timeout bounds the whole operation; 0 means DefaultTimeout.
	Timeout  time.Duration
	Registry RegistryOptions
	Trust    TrustOptions
	// Copy and Prune hold the settings of those operations.
	Copy  CopyOptions
	Prune PruneOptions
}

// Trust backends.
const (
	TrustNone     = ""
	TrustNotary   = "notary"
	TrustSigstore = "sigstore"
)

// TrustOptions select signing on put and verification on read. The
// backends' own option structs are the one definition of their settings;
// package inputs fills them, secrets included (key passphrases, cosign's
// password, the OIDC token source).
type TrustOptions struct {
	// Backend is TrustNone, TrustNotary or TrustSigstore.
	Backend string
	// Verify makes get, list and history return only entries the trusted
	// signer vouches for, failing closed. inputs sets it to true whenever
	// Backend is set, unless the user turned it off.
	Verify bool
	// Notary is set when Backend is TrustNotary.
	Notary notary.Options
	// Sigstore is set when Backend is TrustSigstore.
	Sigstore sigstore.Options
}

// RegistryOptions are the connection settings. Password is a secret: it must
// never be printed or put in an error.
type RegistryOptions struct {
	Username  string
	Password  string
	PlainHTTP bool
	Insecure  bool // skip TLS verification
}

// Env is what an operation may touch besides the network.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	// Progress reports transfers of large values; nil reports nothing.
	Progress store.Progress
	// Now is the clock used for created times; nil means time.Now.
	Now func() time.Time
	// UserAgent is sent to registries.
	UserAgent string
	// OpenTrust builds the trust backend a request names (main wires the
	// backends); nil means no backend is available. t is the image's store
	// target, for backends that keep signatures in the registry; it is nil
	// for trust init.
	OpenTrust func(o TrustOptions, t *store.Target) (TrustBackend, error)
	// Count reports the progress of an operation made of many lookups
	// (search): done of total so far, under label; nil reports nothing.
	Count func(label string, done, total int)
	// Secrets is the run's secret registry: what inputs read, for the
	// store and the trust backends to add the secrets they learn (tokens a
	// registry hands out) before anything prints them. nil holds nothing.
	Secrets *secret.Set
}

// Result is what an operation did. Fields that do not apply stay zero.
type Result struct {
	Operation string `json:"operation"`
	Image     string `json:"image"`
	// Subject is the image digest the metadata belongs to.
	Subject string `json:"subject,omitempty"`
	Key     string `json:"key,omitempty"`
	// Found is false when get/history looked for a key that is not there.
	Found bool `json:"found"`
	// Entry is the entry put or read (put, get).
	Entry *store.Entry `json:"entry,omitempty"`
	// Entries: list (newest entry per key, sorted by key), history (every
	// version, newest first), delete (what was removed).
	Entries []store.Entry `json:"entries,omitempty"`
	// Path is where get wrote the value; empty when it went to Stdout.
	Path string `json:"path,omitempty"`
	// Value is the value get read, when it is valid UTF-8 of at most
	// MaxTextValue bytes (for CI step outputs); nil otherwise.
	Value []byte `json:"-"`
	// Verified is true when the entries returned were checked against the
	// trusted signer; Signer says who signed the entry read or written.
	Verified bool   `json:"verified,omitempty"`
	Signer   string `json:"signer,omitempty"`
	// Check is what check decided.
	Check *CheckResult `json:"check,omitempty"`
	// Images is what search found: each image with metadata, its tags
	// and the newest entry of each key.
	Images []store.ImageKeys `json:"images,omitempty"`
	// Migrate is what migrate did (or would do, with DryRun).
	Migrate *MigrateReport `json:"migrate,omitempty"`
	// RootKeyID is the root key readers pin (trust init).
	RootKeyID string `json:"rootKeyID,omitempty"`
	// Copy is what copy did; Prune what prune did (or would do).
	Copy  *CopyResult  `json:"copy,omitempty"`
	Prune *PruneResult `json:"prune,omitempty"`
	// Warnings are things the user should know that did not fail the step.
	Warnings []string `json:"warnings,omitempty"`
}
