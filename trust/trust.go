// Package trust signs entries when they are written and verifies them when
// they are read. Backends (Notary in trust/notary, registry-native Sigstore
// signatures next) implement Signer and Verifier. The registry is untrusted:
// a verifier decides which entry is authentic from signed data alone, and
// the store then fetches that exact entry by digest, which checks the bytes.
package trust

import (
	"context"
	"time"
)

// Binding is what a signature vouches for: entry manifest Entry (its digest
// and size) is a value of Key on image Subject in Repository.
type Binding struct {
	// Repository is registry/repository ("registry.example.com/team/app"),
	// the Notary GUN.
	Repository string
	// Subject is the image digest the entry belongs to.
	Subject string
	Key     string
	// Entry and Size identify the entry manifest.
	Entry string
	Size  int64
	// MediaType is the value's media type.
	MediaType string
	// Created is the entry's created time.
	Created time.Time
}

// Signed says who signed a binding, for the `signer` output: the role and
// key ID, a key fingerprint, or a certificate identity.
type Signed struct {
	Signer string
}

// Signer records a binding as authentic. It fails when the binding could
// not be signed and published; the entry then stays unsigned and no
// verified read returns it.
type Signer interface {
	Sign(ctx context.Context, b Binding) (Signed, error)
}

// Candidate is an entry the untrusted registry lists.
type Candidate struct {
	Key     string
	Digest  string
	Created time.Time
}

// Query asks which entries of Key (every key when Key is "") on Subject are
// authentic. Candidates are what the registry lists, newest first; a
// backend may use them as hints (signatures attached to entries) or ignore
// them (Notary holds the bindings itself).
type Query struct {
	Repository string
	Subject    string
	Key        string
	Candidates []Candidate
	// Warn, when set, is told what the user should know about a signature
	// the backend ignored although it verifies: one whose signed statement
	// contradicts its entry (names another key, image or created time).
	// Verify calls it before it returns, never concurrently. Untrusted
	// strings in a warning are quoted.
	Warn func(warning string)
}

// Verified is an authentic entry.
type Verified struct {
	Key     string
	Digest  string
	Size    int64
	Created time.Time
	Signer  string
}

// Verifier returns the authentic entries for a query, newest first
// (latest Created, ties broken by the larger digest). An empty result is
// not an error; failing to establish trust (server unreachable, expired or
// tampered metadata, unpinned root) is, and callers fail closed on it.
type Verifier interface {
	Verify(ctx context.Context, q Query) ([]Verified, error)
}
