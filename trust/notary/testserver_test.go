package notary

// The in-process Notary server of the unit tests: notary-server's handlers
// over memory storage, behind a hook that can rewrite its answers. The
// integration tests run the real process instead (internal/testnotary).

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	ctxu "github.com/docker/distribution/context"
	"github.com/docker/distribution/health"
	"github.com/gorilla/mux"
	"github.com/sirupsen/logrus"
	notarypkg "github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/server/handlers"
	serverstorage "github.com/theupdateframework/notary/server/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"github.com/theupdateframework/notary/utils"
)

// The server package's own init, which setting up the router here skips.
func init() {
	data.SetDefaultExpiryTimes(data.NotaryDefaultExpiries)
}

// rootHandler is notary-server's router (server.RootHandler of notary
// v0.7.0) without authentication, caching headers and the Prometheus
// instrumentation: the server package builds only against
// prometheus/client_golang < 1.0, and the module graph (sigstore-go) needs
// a newer one.
func rootHandler(ctx context.Context, trust signed.CryptoService) http.Handler {
	authWrapper := utils.RootHandlerFactory(ctx, nil, trust)
	h := func(f utils.ContextHandler, scopes ...string) http.Handler { return authWrapper(f, scopes...) }
	const gun = "/v2/{gun:[^*]+}/_trust/tuf/"
	const role = "{tufRole:root|targets(?:/[^/\\s]+)*|snapshot|timestamp}"
	r := mux.NewRouter()
	r.Methods("GET").Path("/v2/").Handler(authWrapper(handlers.MainHandler))
	r.Methods("POST").Path(gun).Handler(h(handlers.AtomicUpdateHandler, "push", "pull"))
	r.Methods("GET").Path(gun + role + ".{checksum:[a-fA-F0-9]{64}|[a-fA-F0-9]{96}|[a-fA-F0-9]{128}}.json").Handler(h(handlers.GetHandler, "pull"))
	r.Methods("GET").Path(gun + "{version:[1-9]*[0-9]+}." + role + ".json").Handler(h(handlers.GetHandler, "pull"))
	r.Methods("GET").Path(gun + role + ".json").Handler(h(handlers.GetHandler, "pull"))
	r.Methods("GET").Path(gun + "{tufRole:snapshot|timestamp}.key").Handler(h(handlers.GetKeyHandler, "push", "pull"))
	r.Methods("POST").Path(gun + "{tufRole:snapshot|timestamp}.key").Handler(h(handlers.RotateKeyHandler, "*"))
	r.Methods("DELETE").Path(gun).Handler(h(handlers.DeleteHandler, "*"))
	r.Methods("GET").Path("/v2/{gun:[^*]+}/_trust/changefeed").Handler(h(handlers.Changefeed, "pull"))
	r.Methods("GET").Path("/v2/_trust/changefeed").Handler(h(handlers.Changefeed, "*"))
	r.Methods("GET").Path("/_notary_server/health").HandlerFunc(health.StatusHandler)
	r.Methods("GET", "POST", "PUT", "HEAD", "DELETE").Path("/{other:.*}").Handler(authWrapper(handlers.NotFoundHandler))
	return r
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

// requests is how many requests the server received so far.
func (ts *testServer) requests() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.reqs
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
