package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// The registry backend: entries are referrers of the image, found through
// the OCI referrers API where the registry has it, else through the
// fallback index and trace tags (fallback.go).

// referrersCapability is what the registry is known to do about the
// referrers API.
type referrersCapability int32

// The capabilities: unknown until the API is probed or a push is answered
// with OCI-Subject, then known for the rest of the Target's life.
const (
	referrersUnknown referrersCapability = iota
	referrersSupported
	referrersUnsupported
)

// remoteBackend is the registry backend of one Target.
type remoteBackend struct {
	r   *registryClient
	ref name.Reference
	// capability holds a referrersCapability, discovered once.
	capability atomic.Int32
	// resolved is the manifest resolve read (the subject's).
	resolved []byte
	// pre is the read a put started in parallel with its uploads.
	pre *prefetched
}

func openRemote(ctx context.Context, ref name.Reference, o *options) (*remoteBackend, error) {
	scope := transport.PullScope
	switch o.access {
	case Write:
		scope = transport.PushScope
	case Delete:
		scope = transport.DeleteScope
	}
	r, err := newRegistry(ctx, ref, o, scope)
	if err != nil {
		return nil, err
	}
	return &remoteBackend{r: r, ref: ref}, nil
}

// known returns what is known of the registry's referrers API.
func (m *remoteBackend) known() referrersCapability {
	return referrersCapability(m.capability.Load())
}

// learn records what the registry does about the referrers API.
func (m *remoteBackend) learn(supported bool) {
	c := referrersUnsupported
	if supported {
		c = referrersSupported
	}
	m.capability.Store(int32(c))
}

// resolve reads the reference's manifest in one request (a GET with every
// manifest type accepted; a HEAD first would be one more sequential round
// trip, and pickPlatform needs the bytes anyway). The bytes are kept for
// manifest.
func (m *remoteBackend) resolve(ctx context.Context) (v1.Descriptor, error) {
	id := m.ref.Identifier()
	b, d, err := m.r.getManifest(ctx, id, manifestAccept, manifestLimit)
	if errors.Is(err, errdef.ErrNotFound) {
		return v1.Descriptor{}, errdef.WithClass(fmt.Errorf("image %s not found", m.ref.Name()), errdef.ErrNotFound)
	}
	if err != nil {
		return v1.Descriptor{}, m.r.connectErr(err)
	}
	m.resolved = b
	return d, nil
}

func (m *remoteBackend) manifest(ctx context.Context, h v1.Hash) ([]byte, error) {
	if m.resolved != nil {
		if got, _, _ := v1.SHA256(bytes.NewReader(m.resolved)); got == h {
			return m.resolved, nil
		}
	}
	b, _, err := m.r.getManifest(ctx, h.String(), manifestAccept, manifestLimit)
	return b, err
}

func (m *remoteBackend) hasBlob(ctx context.Context, h v1.Hash) (bool, error) {
	return m.r.hasBlob(ctx, h)
}

func (m *remoteBackend) pushBlob(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	return m.r.pushBlob(ctx, d, open)
}

func (m *remoteBackend) pushBlobStream(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	return m.r.pushBlobStream(ctx, size, open)
}

func (m *remoteBackend) blob(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	return m.r.openBlob(ctx, d.Digest, d.Size)
}

// prefetched is what a put reads while its blobs upload: the referrers
// capability and listing, and, unless the registry has the API, the
// fallback state.
type prefetched struct {
	subject v1.Hash
	done    chan struct{}
	read    *fallbackRead   // nil when the read failed or was not needed
	listed  []v1.Descriptor // the referrers listing before the put; nil: unknown
}

// prefetch starts, in parallel with the caller's uploads, what attach
// will need (issue 14: these round trips leave the critical path): the
// referrers listing unless the registry is known to lack the API (it is
// the probe when the capability is unknown), and the fallback index and
// trace listing unless it is known to have it. A failure here costs
// nothing: attach then reads as it would have.
func (m *remoteBackend) prefetch(ctx context.Context, subject v1.Descriptor) (wait func()) {
	p := &prefetched{subject: subject.Digest, done: make(chan struct{})}
	m.pre = p
	go func() {
		defer close(p.done)
		var wg sync.WaitGroup
		if m.known() != referrersUnsupported {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ds, ok, err := m.r.referrersAPI(ctx, subject.Digest); err == nil {
					m.learn(ok)
					if ok {
						p.listed = ds
						if p.listed == nil {
							p.listed = []v1.Descriptor{}
						}
					}
				}
			}()
		}
		if m.known() != referrersSupported {
			if rd, err := m.readFallback(ctx, subject.Digest); err == nil {
				p.read = rd
			}
		}
		wg.Wait()
	}()
	return func() { <-p.done }
}

// takePrefetched returns what prefetch read for subject, once (nil when
// it read nothing for subject).
func (m *remoteBackend) takePrefetched(subject v1.Hash) *prefetched {
	p := m.pre
	if p == nil || p.subject != subject {
		return nil
	}
	<-p.done
	m.pre = nil
	return p
}

func (m *remoteBackend) attach(ctx context.Context, subject v1.Descriptor, b []byte, d v1.Descriptor) ([]Warning, error) {
	var read *fallbackRead
	var before []v1.Descriptor
	if p := m.takePrefetched(subject.Digest); p != nil {
		read, before = p.read, p.listed
	}
	// The entry manifest is pushed once, under its trace tag (a manifest
	// PUT by tag stores it by digest too, and registries with the
	// referrers API list it by its subject all the same): one request,
	// and a durable record of the entry on every registry. Readers use the
	// traces to find entries that the fallback index, or a referrers
	// listing, lost to concurrent writers (olareg v0.2.2 drops referrers
	// that way even after a put saw them listed).
	ack, err := m.putTrace(ctx, subject.Digest, d.Digest, b)
	if err != nil {
		return nil, err
	}
	if ack {
		m.learn(true)
		return nil, m.confirmListed(ctx, subject, b, d, before)
	}
	// From here the entry is stored and found by every manifesto reader:
	// the index is a cache for other tools, so failing to update it is a
	// warning, not a failed put.
	warn, err := m.mergeFallbackFrom(ctx, subject, []v1.Descriptor{d}, nil, read, false)
	if err != nil && ctx.Err() == nil {
		return []Warning{{Kind: WarnIndexNotUpdated, Err: err,
			Msg: fmt.Sprintf("entry %s is stored, but the fallback index %s was not updated (%v); manifesto finds the entry through its trace tag; run `manifesto repair` later for other tools", d.Digest, fallbackTag(subject.Digest), err)}}, nil
	}
	if err != nil {
		return nil, err
	}
	if warn != nil {
		return []Warning{*warn}, nil
	}
	return nil, nil
}

// Confirmation on registries with the referrers API (issue 11, "a put that
// says ok is there"): a registry acknowledging the PUT is not enough —
// olareg v0.2.2 under 16 concurrent puts acknowledged every one and listed
// 5–14 of them. attach reads the referrers listing until it shows the
// entry, sending the manifest again while it does not, within these bounds.
// A registry that loses entries to concurrent writers can also drop one
// after it was listed, while another writer's update (begun before ours
// landed) is still in flight: so while the listing keeps changing under us
// (other writers at work), the entry must show in two reads a pause apart
// with nothing new between them. Without other writers one read does.
const (
	putConfirmRounds   = 8
	putConfirmPause    = 50 * time.Millisecond // doubled each round, up to putConfirmMaxPause
	putConfirmMaxPause = 800 * time.Millisecond
)

// errNotListed is the class of a put the registry keeps dropping.
var errNotListed = errors.New("the registry keeps dropping the entry from its referrers listing")

// confirmListed waits until subject's referrers listing shows d, re-sending
// b (d's manifest) while it does not. before is the listing before the
// PUT (nil: not known).
func (m *remoteBackend) confirmListed(ctx context.Context, subject v1.Descriptor, b []byte, d v1.Descriptor, before []v1.Descriptor) error {
	var prev map[v1.Hash]bool // what the last read should show again if nobody else writes
	if before != nil {
		prev = digestSet(before)
		prev[d.Digest] = true
	}
	listed := false
	reads := 0
	read := func(last bool) (bool, error) {
		reads++
		ds, ok, err := m.r.referrersAPI(ctx, subject.Digest)
		if err != nil {
			return false, fmt.Errorf("confirm entry %s in the referrers listing: %w", d.Digest, err)
		}
		if !ok {
			return false, fmt.Errorf("confirm entry %s: the registry acknowledged it as a referrer (OCI-Subject) but has no referrers listing", d.Digest)
		}
		cur := digestSet(ds)
		listed = cur[d.Digest]
		switch {
		case listed && prev != nil && sameSet(cur, prev):
			return true, nil
		case last && listed:
			// Listed at the last read; other writers were still at
			// work throughout.
			return true, nil
		case last:
			return false, errdef.WithClass(fmt.Errorf("entry %s was acknowledged %d times but the referrers listing of %s never showed it: %w", d.Digest, reads, subject.Digest, errNotListed), errdef.ErrInvalidResponse)
		}
		prev = cur
		return false, nil
	}
	resend := func() error {
		if listed {
			return nil
		}
		if _, err := m.r.putManifest(ctx, d.Digest.String(), types.OCIManifestSchema1, b); err != nil {
			return fmt.Errorf("send entry %s again: %w", d.Digest, err)
		}
		prev[d.Digest] = true
		return nil
	}
	return confirmRounds(ctx, read, resend)
}

// confirmRounds is the one confirmation loop (a put's entry, copy's and
// prune's artifacts): read up to putConfirmRounds times until read reports
// done, pausing between reads (putConfirmPause, doubled each time up to
// putConfirmMaxPause) and calling resend before every read but the first.
// read is told when its read is the last one; a last read that neither
// reports done nor fails counts as a failure.
func confirmRounds(ctx context.Context, read func(last bool) (bool, error), resend func() error) error {
	pause := putConfirmPause
	for round := 1; ; round++ {
		last := round >= putConfirmRounds
		done, err := read(last)
		switch {
		case err != nil, done:
			return err
		case last:
			return errdef.WithClass(errNotListed, errdef.ErrInvalidResponse)
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
		pause = min(pause*2, putConfirmMaxPause)
		if err := resend(); err != nil {
			return err
		}
	}
}

func digestSet(ds []v1.Descriptor) map[v1.Hash]bool {
	out := make(map[v1.Hash]bool, len(ds))
	for _, d := range ds {
		out[d.Digest] = true
	}
	return out
}

func sameSet(a, b map[v1.Hash]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for h := range a {
		if !b[h] {
			return false
		}
	}
	return true
}

// putTrace pushes entry manifest b under its trace tag; subjectAck reports
// whether the registry answered with OCI-Subject (it keeps the referrers
// listing itself).
func (m *remoteBackend) putTrace(ctx context.Context, subject, entry v1.Hash, b []byte) (subjectAck bool, err error) {
	ack, err := m.r.putManifest(ctx, traceTag(subject, entry), types.OCIManifestSchema1, b)
	if err != nil {
		return false, fmt.Errorf("tag entry %s: %w", entry, err)
	}
	return ack, nil
}

// hasReferrersAPI probes the referrers endpoint unless the registry is
// known not to have it; the listing it fetched is returned so the probe
// costs nothing extra.
func (m *remoteBackend) hasReferrersAPI(ctx context.Context, subject v1.Hash) (bool, []v1.Descriptor, error) {
	if m.known() == referrersUnsupported {
		return false, nil, nil
	}
	ds, ok, err := m.r.referrersAPI(ctx, subject)
	if err != nil {
		return false, nil, err
	}
	m.learn(ok)
	return ok, ds, nil
}

// referrers lists subject's referrers. While the capability is unknown
// (the first read of a command) the referrers probe and the fallback read
// go out at once, so a registry without the API costs one round trip, not
// two; the capability is then remembered for the rest of the command.
func (m *remoteBackend) referrers(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error) {
	switch m.known() {
	case referrersSupported:
		// The listing and the traces at once (one round trip).
		var (
			tags    []string
			tagsErr error
			wg      sync.WaitGroup
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tags, tagsErr = m.r.tagsAfter(ctx, fallbackTag(subject.Digest)+traceInfix)
		}()
		ds, _, err := m.r.referrersAPI(ctx, subject.Digest)
		wg.Wait()
		if err != nil {
			return nil, err
		}
		return m.withTraced(ctx, subject.Digest, ds, tags, tagsErr)
	case referrersUnsupported:
		st, err := m.fallbackView(ctx, subject.Digest, viewOptions{})
		if err != nil {
			return nil, err
		}
		return st.all(), nil
	}
	var (
		rd      *fallbackRead
		readErr error
		wg      sync.WaitGroup
	)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		rd, readErr = m.readFallback(readCtx, subject.Digest)
	}()
	ok, ds, err := m.hasReferrersAPI(ctx, subject.Digest)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	wg.Wait()
	if ok {
		var tags []string
		if rd != nil {
			tags = rd.tags
		}
		return m.withTraced(ctx, subject.Digest, ds, tags, readErr)
	}
	if readErr != nil {
		return nil, readErr
	}
	st, err := m.buildView(ctx, subject.Digest, rd, viewOptions{})
	if err != nil {
		return nil, err
	}
	return st.all(), nil
}

// relistTraced is repair on a registry with the referrers API: every traced
// entry the listing lost is sent again by digest until the listing shows it
// (confirmListed), so that other tools (oras discover) see it too. It
// returns the listing with them.
func (m *remoteBackend) relistTraced(ctx context.Context, subject v1.Descriptor, listed []v1.Descriptor) ([]v1.Descriptor, error) {
	tags, err := m.r.tagsAfter(ctx, fallbackTag(subject.Digest)+traceInfix)
	if err != nil {
		return nil, fmt.Errorf("list entry traces: %w", err)
	}
	lost, _, err := m.tracedUnlisted(ctx, subject.Digest, listed, tags, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range lost {
		b, err := m.manifest(ctx, d.Digest)
		if err != nil {
			return nil, fmt.Errorf("read entry %s: %w", d.Digest, err)
		}
		if _, err := m.r.putManifest(ctx, d.Digest.String(), types.OCIManifestSchema1, b); err != nil {
			return nil, fmt.Errorf("send entry %s again: %w", d.Digest, err)
		}
		if err := m.confirmListed(ctx, subject, b, d, nil); err != nil {
			return nil, err
		}
	}
	return append(listed, lost...), nil
}

// withTraced is a referrers listing plus the entries whose trace tags
// (tags) it lacks: a registry that dropped a referrer under concurrent
// writers (olareg v0.2.2 does) still has the entry and its trace. The
// listing is the registry's own answer, so a failure to list the traces
// (tagsErr) leaves it as it is rather than failing the read.
func (m *remoteBackend) withTraced(ctx context.Context, subject v1.Hash, listed []v1.Descriptor, tags []string, tagsErr error) ([]v1.Descriptor, error) {
	if tagsErr != nil || len(tags) == 0 {
		return listed, nil
	}
	traced, _, err := m.tracedUnlisted(ctx, subject, listed, tags, nil)
	if err != nil {
		return nil, err
	}
	return append(listed, traced...), nil
}

func (m *remoteBackend) removeEntries(ctx context.Context, subject v1.Descriptor, ds []v1.Descriptor) error {
	remove := map[v1.Hash]bool{}
	for _, d := range ds {
		remove[d.Digest] = true
	}
	fallback := m.known() != referrersSupported
	if fallback {
		// The index forgets the entries first, so that whatever fails
		// later, it never lists a manifest that is gone; entries whose
		// delete then fails stay found through their traces.
		warn, err := m.mergeFallback(ctx, subject, nil, remove)
		if err != nil {
			return err
		}
		if warn != nil && warn.Kind != WarnIndexAliased {
			return *warn
		}
	}
	for _, d := range ds {
		if err := m.r.deleteManifest(ctx, d.Digest.String()); err != nil {
			return fmt.Errorf("delete entry %s: %w", d.Digest, err)
		}
	}
	for _, d := range ds {
		// Distribution drops a manifest's tags with it; registries that
		// keep them get the trace tag deleted by name (OCI 1.1), so no
		// trace brings the entry back.
		tag := traceTag(subject.Digest, d.Digest)
		if _, err := m.r.headManifest(ctx, tag); errors.Is(err, errdef.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := m.r.deleteManifest(ctx, tag); err != nil {
			return fmt.Errorf("delete trace tag %s of entry %s: %w", tag, d.Digest, err)
		}
	}
	return nil
}

// repair rebuilds the fallback index from the traces, and adopts every
// entry of ours the index lists without a trace (written by oras, regctl,
// or copied by `oras cp -r`): it gets its trace tag, so that the next time
// the index is damaged, repair brings it back too (issue 11).
func (m *remoteBackend) repair(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error) {
	ok, ds, err := m.hasReferrersAPI(ctx, subject.Digest)
	if err != nil {
		return nil, err
	}
	if ok {
		return m.relistTraced(ctx, subject, ds)
	}
	if warn, err := m.mergeFallbackFrom(ctx, subject, nil, nil, nil, true); err != nil {
		return nil, err
	} else if warn != nil {
		return nil, *warn
	}
	rd, err := m.readFallback(ctx, subject.Digest)
	if err != nil {
		return nil, err
	}
	if err := m.adopt(ctx, subject.Digest, rd); err != nil {
		return nil, err
	}
	st, err := m.buildView(ctx, subject.Digest, rd, viewOptions{})
	if err != nil {
		return nil, err
	}
	return st.all(), nil
}

// adopt gives every untraced entry (or signature) of ours in the index its
// trace tag: its manifest is fetched (which also proves it exists and
// refers to subject) and pushed again under the tag. Adopted tags are
// added to rd.tags.
func (m *remoteBackend) adopt(ctx context.Context, subject v1.Hash, rd *fallbackRead) error {
	traced := map[string]bool{}
	prefix := fallbackTag(subject) + traceInfix
	for _, t := range rd.tags {
		traced[strings.TrimPrefix(t, prefix)] = true
	}
	var orphans []v1.Descriptor
	for _, d := range rd.index.Descriptors() {
		isEntry := managed(d.ArtifactType) || d.Annotations[AnnotationKey] != ""
		if isEntry && len(d.Digest.Hex) >= 40 && !traced[d.Digest.Hex[:40]] {
			orphans = append(orphans, d)
		}
	}
	adopted := make([]string, len(orphans))
	err := parallelEach(ctx, len(orphans), func(ctx context.Context, i int) error {
		d := orphans[i]
		b, _, err := m.r.getManifest(ctx, d.Digest.String(), string(types.OCIManifestSchema1), manifestLimit)
		if errors.Is(err, errdef.ErrNotFound) {
			return nil // gone: the merge drops it
		}
		if err != nil {
			return fmt.Errorf("adopt entry %s: %w", d.Digest, err)
		}
		var mf v1.Manifest
		if json.Unmarshal(b, &mf) != nil || mf.Subject == nil || mf.Subject.Digest != subject {
			return nil // not an entry of this image
		}
		if _, err := m.putTrace(ctx, subject, d.Digest, b); err != nil {
			return err
		}
		adopted[i] = traceTag(subject, d.Digest)
		return nil
	})
	for _, t := range adopted {
		if t != "" {
			rd.tags = append(rd.tags, t)
		}
	}
	return err
}
