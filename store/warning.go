package store

// WarningKind says what a Warning is about, so that callers decide on the
// kind, never on the message.
type WarningKind int

// The kinds of warning.
const (
	// WarnIndexAliased: the registry resolves the fallback tag to something
	// that is not a referrers index (GitLab answers it with the image).
	// Entries stay findable through their trace tags; tools reading only
	// that tag do not see them. Nothing to repair.
	WarnIndexAliased WarningKind = iota + 1
	// WarnIndexNotUpdated: an entry is stored and traced, but writing the
	// fallback index failed (Err says why).
	WarnIndexNotUpdated
	// WarnIndexUnconfirmed: the fallback index could not be confirmed to
	// hold what it should within the merge loop's bound (contention).
	WarnIndexUnconfirmed
	// WarnEntryGone: a listed entry's manifest is gone; the version before
	// it was read instead.
	WarnEntryGone
	// WarnIndexLarge: the fallback index written by a put is past half of
	// the size CNCF Distribution accepts (IndexCeiling entries); old
	// versions should be pruned. Given once per put.
	WarnIndexLarge
)

// Warning is something the user should know that did not fail the
// operation. It is also an error, for the operations where the same
// condition is a failure: it wraps Err, so it keeps Err's errdef class,
// and errors.As finds the Warning (and its Kind) in the chain.
type Warning struct {
	Kind WarningKind
	// Msg is the message for the user, one line.
	Msg string
	// Err is the failure the warning reports, if any.
	Err error
}

// String returns the message.
func (w Warning) String() string { return w.Msg }

// Error returns the message.
func (w Warning) Error() string { return w.Msg }

// Unwrap returns the failure the warning reports, if any.
func (w Warning) Unwrap() error { return w.Err }

// Messages returns the messages of ws, in order.
func Messages(ws []Warning) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Msg)
	}
	return out
}
