package notary

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ctxu "github.com/docker/distribution/context"
	canonicaljson "github.com/docker/go/canonical/json"
	"github.com/sirupsen/logrus"
	notarypkg "github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	serverstorage "github.com/theupdateframework/notary/server/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"

	"github.com/manifesto-dev/manifesto/trust"
)

type (
	targetWithRole   = client.TargetWithRole
	jsonRaw          = canonicaljson.RawMessage
	clientRepository = client.Repository
)

// testPass is the passphrase of every key the tests create.
const testPass = "correct horse battery staple"

// testGUN is the repository the tests sign into.
const testGUN = "127.0.0.1:5000/team/app"

func TestMain(m *testing.M) {
	// The Notary client logs warnings through the global logrus logger.
	logrus.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// testServer is an in-process Notary server (memory storage, local crypto
// service) behind an optional hook that can rewrite its answers.
type testServer struct {
	*httptest.Server
	meta *serverstorage.MemStorage
	cs   *cryptoservice.CryptoService

	mu   sync.Mutex
	hook func(w http.ResponseWriter, r *http.Request, next http.Handler)
	reqs int
}

func newServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{
		meta: serverstorage.NewMemStorage(),
		cs:   cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("server"))),
	}
	ctx := context.WithValue(context.Background(), notarypkg.CtxKeyMetaStore, ts.meta)
	ctx = context.WithValue(ctx, notarypkg.CtxKeyKeyAlgo, data.ED25519Key)
	quiet := logrus.New()
	quiet.Out = io.Discard
	ctx = ctxu.WithLogger(ctx, logrus.NewEntry(quiet))
	root := rootHandler(ctx, ts.cs)
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		hook := ts.hook
		ts.reqs++
		ts.mu.Unlock()
		if hook != nil {
			hook(w, r, root)
			return
		}
		root.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) setHook(h func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	ts.mu.Lock()
	ts.hook = h
	ts.mu.Unlock()
}

// rewrite makes the server answer GETs whose path matches with the body
// f(original body).
func (ts *testServer) rewrite(match func(path string) bool, f func([]byte) []byte) {
	ts.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet || !match(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := f(rec.Body.Bytes())
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// serve makes the server answer GETs whose path matches with body.
func (ts *testServer) serve(match func(path string) bool, body []byte) {
	ts.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet || !match(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// get fetches one piece of the GUN's metadata from the server as is.
func (ts *testServer) get(t *testing.T, gun, name string) []byte {
	t.Helper()
	resp, err := http.Get(ts.URL + "/v2/" + gun + "/_trust/tuf/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", name, resp.StatusCode, err, b)
	}
	return b
}

// resignTimestamp returns the GUN's current timestamp changed by edit and
// signed again with the server's own timestamp key: metadata a compromised
// or replaying server could serve.
func (ts *testServer) resignTimestamp(t *testing.T, gun string, edit func(*data.SignedTimestamp)) []byte {
	t.Helper()
	var s data.Signed
	if err := json.Unmarshal(ts.get(t, gun, "timestamp"), &s); err != nil {
		t.Fatal(err)
	}
	st, err := data.TimestampFromSigned(&s)
	if err != nil {
		t.Fatal(err)
	}
	edit(st)
	out, err := st.ToSigned()
	if err != nil {
		t.Fatal(err)
	}
	out.Signatures = nil
	ids := ts.cs.ListKeys(data.CanonicalTimestampRole)
	if len(ids) != 1 {
		t.Fatalf("server timestamp keys: %v", ids)
	}
	pub := ts.cs.GetKey(ids[0])
	if err := signed.Sign(ts.cs, out, []data.PublicKey{pub}, 1, nil); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isMeta(role string) func(string) bool {
	return func(p string) bool {
		i := strings.Index(p, "/_trust/tuf/")
		if i < 0 {
			return false
		}
		name := p[i+len("/_trust/tuf/"):]
		return name == role+".json" || strings.HasPrefix(name, role+".") && strings.HasSuffix(name, ".json") && !strings.Contains(strings.TrimPrefix(name, role+"."), "/")
	}
}

func constPass(string) (string, error) { return testPass, nil }

// backend returns a Backend on ts with trust dir dir and option edits.
func backend(t *testing.T, url, dir string, edit ...func(*Options)) *Backend {
	t.Helper()
	o := Options{Server: url, TrustDir: dir, Passphrase: constPass}
	for _, e := range edit {
		e(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return b
}

func pin(id string) func(*Options) { return func(o *Options) { o.RootKeyID = id } }

func tofu(o *Options) { o.TOFU = true }

func role(r string) func(*Options) { return func(o *Options) { o.Role = r } }

// initRepo creates the test GUN's trust data with a new admin trust dir and
// returns that dir and the root key ID.
func initRepo(t *testing.T, ts *testServer) (adminDir, rootID string) {
	t.Helper()
	return initRepoAt(t, ts.URL)
}

// initRepoAt is initRepo on the server at url.
func initRepoAt(t *testing.T, url string) (adminDir, rootID string) {
	t.Helper()
	adminDir = t.TempDir()
	id, created, err := backend(t, url, adminDir).Init(context.Background(), testGUN)
	if err != nil || !created {
		t.Fatalf("Init: %q %v %v", id, created, err)
	}
	return adminDir, id
}

// addDelegation creates role with a new key in its own trust dir (what CI
// holds) using the targets key in adminDir, as `notary delegation add`
// would; it returns CI's trust dir and the delegation key's ID.
func addDelegation(t *testing.T, url, adminDir string, roleName string, paths ...string) (ciDir, keyID string) {
	t.Helper()
	ciDir = t.TempDir()
	ks, err := trustmanager.NewKeyFileStore(ciDir, passphrase.ConstantRetriever(testPass))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoservice.NewCryptoService(ks).Create(data.RoleName(roleName), "", data.ECDSAKey)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := client.NewFileCachedRepository(adminDir, data.GUN(testGUN), url, http.DefaultTransport,
		passphrase.ConstantRetriever(testPass), trustpinning.TrustPinConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		paths = []string{""}
	}
	if err := repo.AddDelegation(data.RoleName(roleName), []data.PublicKey{pub}, paths); err != nil {
		t.Fatal(err)
	}
	if err := repo.Publish(); err != nil {
		t.Fatalf("publish delegation: %v", err)
	}
	return ciDir, pub.ID()
}

// targetsKeyID returns the ID of the targets key in an admin trust dir.
func targetsKeyID(t *testing.T, adminDir, rootID string) string {
	t.Helper()
	for _, e := range mustList(t, adminDir) {
		if id := strings.TrimSuffix(e.Name(), ".key"); id != rootID {
			return id
		}
	}
	t.Fatal("no targets key")
	return ""
}

// keyPEM returns the encrypted PEM of key id in dir (what `notary key
// export` writes).
func keyPEM(t *testing.T, dir, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "private", id+".key"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("key %s is not encrypted:\n%s", id, b)
	}
	return string(b)
}

// digest returns a sha256 digest of s.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func randomDigest(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return digest(string(b))
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func binding(subject, key, entry string, created time.Time) trust.Binding {
	return trust.Binding{
		Repository: testGUN,
		Subject:    subject,
		Key:        key,
		Entry:      entry,
		Size:       int64(len(entry)) + 100,
		MediaType:  "application/json",
		Created:    created,
	}
}

func mustSign(t *testing.T, b *Backend, bd trust.Binding) trust.Signed {
	t.Helper()
	s, err := b.Sign(context.Background(), bd)
	if err != nil {
		t.Fatalf("Sign(%s %s %s): %v", bd.Subject, bd.Key, bd.Entry, err)
	}
	return s
}

func mustVerify(t *testing.T, b *Backend, subject, key string) []trust.Verified {
	t.Helper()
	v, err := b.Verify(context.Background(), trust.Query{Repository: testGUN, Subject: subject, Key: key})
	if err != nil {
		t.Fatalf("Verify(%s %s): %v", subject, key, err)
	}
	return v
}

// verifyErr runs Verify and fails unless it errs with a message containing
// every one of want.
func verifyErr(t *testing.T, b *Backend, subject, key string, want ...string) error {
	t.Helper()
	v, err := b.Verify(context.Background(), trust.Query{Repository: testGUN, Subject: subject, Key: key})
	if err == nil {
		t.Fatalf("Verify succeeded with %+v, want an error", v)
	}
	if v != nil {
		t.Errorf("Verify returned entries %+v along with error %v", v, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	t.Logf("Verify failed as it must: %v", err)
	return err
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}
