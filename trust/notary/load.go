package notary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// remote returns the server's metadata store for gun, bound to ctx.
func (b *Backend) remote(ctx context.Context, gun string) (*recordingRemote, error) {
	r := &recordingRemote{}
	rt := ctxTransport{ctx: ctx, next: errorBodyTransport{rec: r, next: b.transport}}
	rs, err := storage.NewNotaryServerStore(b.server, data.GUN(gun), rt)
	if err != nil {
		return nil, errdef.Usagef("notary: server %q: %v", b.server, err)
	}
	r.RemoteStore = rs
	return r, nil
}

// recordingRemote records whether a timestamp was downloaded (and why
// not), and the last error body the server sent. The Notary client falls
// back to a cached timestamp when the server is unreachable; a verified
// read must not, so it demands a timestamp from the server.
type recordingRemote struct {
	storage.RemoteStore
	mu           sync.Mutex
	timestamp    bool
	timestampErr error
	errBody      string
}

// GetSized fetches name from the server, noting whether a timestamp came.
func (r *recordingRemote) GetSized(name string, size int64) ([]byte, error) {
	b, err := r.RemoteStore.GetSized(name, size)
	if name == data.CanonicalTimestampRole.String() {
		r.mu.Lock()
		if err == nil {
			r.timestamp = true
		} else {
			r.timestampErr = err
		}
		r.mu.Unlock()
	}
	return b, err
}

// fetchedTimestamp reports whether a timestamp came from the server, and
// the error of the last attempt otherwise.
func (r *recordingRemote) fetchedTimestamp() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timestamp, r.timestampErr
}

// serverSaid is the last error body the server answered with ("" if none).
func (r *recordingRemote) serverSaid() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errBody
}

// forgetServerSaid clears serverSaid before the next write.
func (r *recordingRemote) forgetServerSaid() {
	r.mu.Lock()
	r.errBody = ""
	r.mu.Unlock()
}

// errorBodyTransport keeps the first KiB of error responses to writes: the
// Notary client reduces most of them to "trust server rejected operation".
type errorBodyTransport struct {
	rec  *recordingRemote
	next http.RoundTripper
}

// RoundTrip sends req and keeps the start of an error answer to a write,
// leaving the body readable in full.
func (t errorBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 || req.Method == http.MethodGet {
		return resp, err
	}
	head, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if rerr == nil {
		t.rec.mu.Lock()
		t.rec.errBody = strings.TrimSpace(string(head))
		t.rec.mu.Unlock()
	}
	return resp, nil
}

// pendingCache reads through to the on-disk cache but holds every write in
// memory until commit, so that metadata reaches TrustDir only once the whole
// chain verified (and the pin matched).
type pendingCache struct {
	disk    storage.MetadataStore
	mu      sync.Mutex
	pending map[string][]byte
	removed map[string]bool
}

func newPendingCache(disk storage.MetadataStore) *pendingCache {
	return &pendingCache{disk: disk, pending: map[string][]byte{}, removed: map[string]bool{}}
}

// GetSized returns name as written in this update, or else from disk.
func (c *pendingCache) GetSized(name string, size int64) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.pending[name]
	gone := c.removed[name]
	c.mu.Unlock()
	if ok {
		if size != storage.NoSizeLimit && int64(len(b)) > size {
			return nil, storage.ErrMaliciousServer{}
		}
		return append([]byte(nil), b...), nil
	}
	if gone {
		return nil, storage.ErrMetaNotFound{Resource: name}
	}
	return c.disk.GetSized(name, size)
}

// Set holds blob as name until commit.
func (c *pendingCache) Set(name string, blob []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending[name] = append([]byte(nil), blob...)
	delete(c.removed, name)
	return nil
}

// SetMulti holds every blob of m until commit.
func (c *pendingCache) SetMulti(m map[string][]byte) error {
	for k, v := range m {
		if err := c.Set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Remove hides name until commit, which removes it from disk.
func (c *pendingCache) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, name)
	c.removed[name] = true
	return nil
}

// RemoveAll is not supported.
func (c *pendingCache) RemoveAll() error {
	return errors.New("notary: removing the whole metadata cache is not supported here")
}

// Location is the on-disk cache's.
func (c *pendingCache) Location() string { return c.disk.Location() }

// commit writes the held metadata to disk. Root goes last, so that a crash
// half-way never leaves a new root next to old metadata it does not sign.
func (c *pendingCache) commit() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.pending))
	for n := range c.pending {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := names[i] == data.CanonicalRootRole.String(), names[j] == data.CanonicalRootRole.String()
		if ri != rj {
			return rj
		}
		return names[i] < names[j]
	})
	for n := range c.removed {
		if err := c.disk.Remove(n); err != nil {
			return err
		}
	}
	for _, n := range names {
		if err := c.disk.Set(n, c.pending[n]); err != nil {
			return err
		}
	}
	c.pending = map[string][]byte{}
	c.removed = map[string]bool{}
	return nil
}

// loaded is a TUF repository verified against the server in this call.
type loaded struct {
	repo   *tuf.Repo
	remote *recordingRemote
}

// load runs the complete TUF update for gun against the server, with the
// metadata cache in TrustDir as the rollback reference and (when present)
// the trust anchor, then checks the pin. Only a fully verified result is
// written back to the cache.
func (b *Backend) load(ctx context.Context, gun string) (*loaded, error) {
	return b.loadTrusting(ctx, gun, false)
}

// loadTrusting is load; unpinned allows a root that is neither pinned,
// explicitly TOFU, nor the owner's (for Init of an existing repository
// only). See anchorFor.
func (b *Backend) loadTrusting(ctx context.Context, gun string, unpinned bool) (*loaded, error) {
	a, err := b.anchorFor(gun, unpinned)
	if err != nil {
		return nil, err
	}
	remote, err := b.remote(ctx, gun)
	if err != nil {
		return nil, err
	}
	disk, err := storage.NewFileStore(b.cacheDir(gun), "json")
	if err != nil {
		return nil, fmt.Errorf("notary: metadata cache for %s in %s: %w", gun, b.trustDir, err)
	}
	cache := newPendingCache(disk)
	repo, _, err := client.LoadTUFRepo(client.TUFLoadOptions{
		GUN: data.GUN(gun),
		// The pin is checked below, against whichever root the update
		// ends with (the Notary client only applies trust pinning to a
		// root it downloads, never to a cached one).
		TrustPinning:  trustpinning.TrustPinConfig{},
		CryptoService: cryptoservice.EmptyService,
		Cache:         cache,
		RemoteStore:   remote,
	})
	if err != nil {
		return nil, b.serverErr(ctx, "verify trust data of", gun, err)
	}
	if ok, terr := remote.fetchedTimestamp(); !ok {
		if terr == nil {
			terr = errors.New("no timestamp requested")
		}
		return nil, fmt.Errorf("notary: verify trust data of %s: no fresh timestamp from %s (a cached one is never enough): %w",
			gun, b.server, b.ctxOr(ctx, describe(terr)))
	}
	if repo.Root == nil || repo.Timestamp == nil || repo.Snapshot == nil || repo.Targets[data.CanonicalTargetsRole] == nil {
		return nil, fmt.Errorf("notary: verify trust data of %s on %s: incomplete TUF metadata", gun, b.server)
	}
	if err := b.checkPin(gun, repo, a); err != nil {
		return nil, err
	}
	if err := checkRolesLoaded(repo, b.role); err != nil {
		return nil, fmt.Errorf("notary: verify trust data of %s on %s: %w", gun, b.server, err)
	}
	if err := cache.commit(); err != nil {
		return nil, fmt.Errorf("notary: save verified metadata of %s to %s: %w", gun, b.trustDir, err)
	}
	return &loaded{repo: repo, remote: remote}, nil
}

// checkRolesLoaded fails when a delegation in scope (Options.Role, the
// roles above it and below it) is listed in the snapshot and delegated by
// its verified parent but its metadata was not loaded: the Notary client
// skips a delegation whose metadata expired or lacks valid signatures,
// which would turn "cannot verify" into "nothing signed".
func checkRolesLoaded(repo *tuf.Repo, scope data.RoleName) error {
	base, err := repo.GetBaseRole(data.CanonicalTargetsRole)
	if err != nil {
		return err
	}
	queue := []data.DelegationRole{{BaseRole: base, Paths: []string{""}}}
	for len(queue) > 0 {
		role := queue[0]
		queue = queue[1:]
		name := role.Name.String()
		inScope := role.Name == scope || strings.HasPrefix(name, scope.String()+"/") || strings.HasPrefix(scope.String(), name+"/")
		if !inScope {
			continue
		}
		st, ok := repo.Targets[role.Name]
		if !ok {
			if _, listed := repo.Snapshot.Signed.Meta[name]; listed {
				return fmt.Errorf("metadata of role %s does not verify (expired, or not enough valid signatures)", role.Name)
			}
			continue
		}
		queue = append(queue, st.GetValidDelegations(role)...)
	}
	return nil
}

// rootKeyIDs returns the canonical IDs of the root role's keys, and the IDs
// under which root.json lists them (certificate key IDs).
func rootKeyIDs(repo *tuf.Repo) (canonical, listed []string, err error) {
	role, err := repo.GetBaseRole(data.CanonicalRootRole)
	if err != nil {
		return nil, nil, err
	}
	for id, k := range role.Keys {
		listed = append(listed, id)
		canonical = append(canonical, canonicalID(k))
	}
	sort.Strings(canonical)
	sort.Strings(listed)
	return canonical, listed, nil
}

// describe turns Notary client errors into messages that say what failed.
func describe(err error) error {
	var (
		netErr     storage.NetworkError
		unavail    storage.ErrServerUnavailable
		notExist   client.ErrRepositoryNotExist
		expired    signed.ErrExpired
		low        signed.ErrLowVersion
		threshold  signed.ErrRoleThreshold
		checksum   data.ErrMismatchedChecksum
		pinFail    trustpinning.ErrValidationFail
		rotateFail *trustpinning.ErrRootRotationFail
		malicious  storage.ErrMaliciousServer
		notFound   storage.ErrMetaNotFound
		invalid    storage.ErrInvalidOperation
	)
	switch {
	case errors.As(err, &netErr):
		return fmt.Errorf("server unreachable: %w", err)
	case errors.As(err, &unavail):
		return fmt.Errorf("server error: %w", err)
	case errors.As(err, &notExist):
		return fmt.Errorf("no trust data (create it with `manifesto trust init`): %w", err)
	case errors.As(err, &expired):
		return fmt.Errorf("expired TUF metadata (the server is stale or replays old metadata): %w", err)
	case errors.As(err, &low):
		return fmt.Errorf("TUF metadata rolled back to an older version: %w", err)
	case errors.As(err, &threshold), errors.As(err, &checksum), errors.As(err, &malicious):
		return fmt.Errorf("TUF metadata does not verify (tampered?): %w", err)
	case errors.As(err, &pinFail), errors.As(err, &rotateFail):
		return fmt.Errorf("root of trust does not verify: %w", err)
	case errors.As(err, &notFound):
		return fmt.Errorf("TUF metadata missing on the server: %w", err)
	case errors.As(err, &invalid):
		return fmt.Errorf("server rejected the update: %w", err)
	}
	return err
}
