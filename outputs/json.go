package outputs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// EntryJSON is one entry in JSON output. Its fields are a public contract; see
// JSON.
type EntryJSON struct {
	// Key is the entry's KEY.
	Key string `json:"key"`
	// Digest is the entry manifest's digest ("sha256:...").
	Digest string `json:"digest"`
	// MediaType is the value's media type; "" when not known.
	MediaType string `json:"mediaType"`
	// Size is the value's size in bytes; -1 when not known.
	Size int64 `json:"size"`
	// Created is the entry's write time: RFC 3339 in UTC with up to nine
	// fractional digits (Go's time.RFC3339Nano).
	Created string `json:"created"`
}

// ValueJSON is the JSON output of put and get: the entry's fields plus the
// subject and, for get, where the value was written.
type ValueJSON struct {
	EntryJSON
	// Subject is the image digest the entry belongs to.
	Subject string `json:"subject"`
	// Path is the file get wrote the value to; absent when it went to stdout
	// and for put.
	Path string `json:"path,omitempty"`
	// Verified is true when get returned an entry the trusted signer vouches
	// for; absent otherwise.
	Verified bool `json:"verified,omitempty"`
	// Signer is who signed the entry (put or get with trust).
	Signer string `json:"signer,omitempty"`
}

// TrustInitJSON is the JSON output of trust init.
type TrustInitJSON struct {
	// RootKeyID is the root key ID readers pin.
	RootKeyID string `json:"rootKeyID"`
	// Created is false when the trust repository existed already.
	Created bool `json:"created"`
}

// DeletedJSON is the JSON output of delete.
type DeletedJSON struct {
	// Subject is the image digest the entries belonged to.
	Subject string `json:"subject"`
	// Deleted lists the removed entries; [] when none.
	Deleted []EntryJSON `json:"deleted"`
}

// IndexedJSON is the JSON output of repair.
type IndexedJSON struct {
	// Subject is the image digest the entries belong to.
	Subject string `json:"subject"`
	// Indexed lists the entries re-indexed; [] when none.
	Indexed []EntryJSON `json:"indexed"`
}

// JSON writes r as one JSON document followed by a newline. The schema is a
// public contract:
//
//	entry   = {"key": string, "digest": string, "mediaType": string,
//	           "size": int (-1 = unknown), "created": RFC 3339 UTC string, "" when the entry has none}
//	list    = [entry, ...]              newest entry per key, sorted by key
//	history = [entry, ...]              every version, newest first
//	put     = entry + {"subject": string}
//	get     = entry + {"subject": string, "path": string (only when the
//	          value was written to a file)}
//	delete  = {"subject": string, "deleted": [entry, ...]}
//	repair  = {"subject": string, "indexed": [entry, ...]}
//	trust init = {"rootKeyID": string, "created": bool}
//	copy    = {"subject", "destination", "imageCopied": bool,
//	          "copied": [entry, ...], "skipped": [entry, ...],
//	          "signatures": int, "signed": int}
//	prune   = {"subject", "started", "dryRun": bool, "removed": [entry, ...],
//	          "kept": [entry, ...], "signatures": int}
//	check   = {"passed": bool, "requirements": [{"key", "expr",
//	          "max_age" (when set), "passed", "reason", "digest",
//	          "created" ("" when no version), "verified", "signer"}, ...]}
//	search  = [{"digest", "tags": [string], "keys": [{"key", "digest",
//	          "created"}]}, ...]
//	migrate = {"legacy", "byTag", "dryRun", "items": [{"image", "tag",
//	          "type", "key", "value", "form", "mediaType", "action",
//	          "reason", "entry", "signer"}, ...], "legacyDeleted"}
//
// put and get also carry "verified": true and "signer" when trust was used.
//
// Arrays are [] (never null) when empty. mediaType is "" when not known.
// Other fields of Result (warnings among them) are not part of the document;
// warnings go to stderr through Warnings. An unknown operation, or a put or
// get without an entry, is an error and writes nothing.
func JSON(w io.Writer, r steps.Result) error {
	var doc any
	switch r.Operation {
	case steps.OpPut, steps.OpGet:
		if r.Entry == nil {
			return fmt.Errorf("outputs: %s result has no entry", r.Operation)
		}
		v := ValueJSON{EntryJSON: entryJSON(*r.Entry), Subject: r.Subject, Verified: r.Verified, Signer: r.Signer}
		if r.Operation == steps.OpGet {
			v.Path = r.Path
		}
		doc = v
	case steps.OpList, steps.OpHistory:
		doc = entriesJSON(r.Entries)
	case steps.OpDelete:
		doc = DeletedJSON{Subject: r.Subject, Deleted: entriesJSON(r.Entries)}
	case steps.OpRepair:
		doc = IndexedJSON{Subject: r.Subject, Indexed: entriesJSON(r.Entries)}
	case steps.OpTrustInit:
		doc = TrustInitJSON{RootKeyID: r.RootKeyID, Created: r.Found}
	case steps.OpCheck:
		doc = checkJSON(r.Check)
	case steps.OpSearch:
		doc = searchJSON(r.Images)
	case steps.OpMigrate:
		doc = migrateJSON(r.Migrate)
	case steps.OpCopy:
		var err error
		if doc, err = copyJSON(r); err != nil {
			return err
		}
	case steps.OpPrune:
		var err error
		if doc, err = pruneJSON(r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("outputs: unknown operation %q", r.Operation)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc) // Encode ends the document with "\n".
}

// StepsEntryJSON is one entry of a steps file in StepsJSON.
type StepsEntryJSON struct {
	// Step is the entry's position in the steps file, from 1.
	Step int `json:"step"`
	// ID is the entry's id; omitted when it has none.
	ID        string `json:"id,omitempty"`
	Operation string `json:"operation"`
	// Result is the entry's own document (JSON); null when the operation
	// failed before it had one (an image that could not be read).
	Result json.RawMessage `json:"result"`
}

// StepsJSON writes the document of a steps file's run: an array with one
// StepsEntryJSON per entry that ran, in order (entries after a failure did
// not run and are absent). ids[i] is the id of results[i].
func StepsJSON(w io.Writer, ids []string, results []steps.Result) error {
	doc := make([]StepsEntryJSON, len(results))
	for i, r := range results {
		doc[i] = StepsEntryJSON{Step: i + 1, ID: ids[i], Operation: string(r.Operation), Result: json.RawMessage("null")}
		var one bytes.Buffer
		if JSON(&one, r) == nil {
			doc[i].Result = bytes.TrimSuffix(one.Bytes(), []byte("\n"))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

func entryJSON(e store.Entry) EntryJSON {
	j := EntryJSON{
		Key:       e.Key,
		Digest:    e.Digest,
		MediaType: e.MediaType,
		Size:      e.Size,
	}
	if !e.Created.IsZero() {
		// An entry without a creation time (regctl writes none) shows
		// "" (README "Entries without a creation time").
		j.Created = e.Created.UTC().Format(time.RFC3339Nano)
	}
	return j
}

// entriesJSON converts es; the result is never nil, so it encodes as [].
func entriesJSON(es []store.Entry) []EntryJSON {
	out := make([]EntryJSON, 0, len(es))
	for _, e := range es {
		out = append(out, entryJSON(e))
	}
	return out
}
