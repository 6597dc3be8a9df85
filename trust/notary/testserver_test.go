package notary

import (
	"context"
	"net/http"

	"github.com/docker/distribution/health"
	"github.com/gorilla/mux"
	"github.com/theupdateframework/notary/server/handlers"
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
