// Package steps holds the operations. Each takes a validated Request and
// returns a Result; nothing here formats output for a person or a CI system.
package steps

import (
	"io"
	"time"

	"github.com/manifesto-dev/manifesto/store"
)

// Operations.
const (
	OpPut     = "put"
	OpGet     = "get"
	OpList    = "list"
	OpHistory = "history"
	OpDelete  = "delete"
	OpRepair  = "repair"
)

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
	Registry RegistryOptions
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
	// Warnings are things the user should know that did not fail the step.
	Warnings []string `json:"warnings,omitempty"`
}
