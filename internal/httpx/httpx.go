// Package httpx holds the one HTTP transport manifesto builds for the
// services it talks to besides registries' own client stack: the Notary
// server, Fulcio, Rekor and timestamp authorities. Connect, TLS handshake and
// response-header waits are bounded; the caller's context bounds the rest.
package httpx

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Bounds of one connection.
const (
	DialTimeout           = 15 * time.Second
	TLSHandshakeTimeout   = 15 * time.Second
	ResponseHeaderTimeout = 60 * time.Second
)

// Transport returns a new transport with the bounds above, proxies from the
// environment, TLS 1.2 or later, and certificate checks skipped only when
// insecure is true (the user asked for it).
func Transport(insecure bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.DialContext = (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // only when the user asked for it
	t.TLSHandshakeTimeout = TLSHandshakeTimeout
	t.ResponseHeaderTimeout = ResponseHeaderTimeout
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = 4
	return t
}
