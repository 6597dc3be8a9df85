package store

import (
	"net/http"
	"strings"
)

// nextLink follows the rel="next" link of an RFC 8288 Link header (every
// Link header line, every link in it), resolved against the request URL and
// kept on the same host. "" when there is none.
func nextLink(resp *http.Response) (string, error) {
	for _, header := range resp.Header.Values("Link") {
		for _, l := range parseLinks(header) {
			if !l.next {
				continue
			}
			u, err := resp.Request.URL.Parse(l.target)
			if err != nil {
				return "", invalidf("bad Link header %q", header)
			}
			if u.Host != resp.Request.URL.Host {
				return "", invalidf("Link header points to another host (%s)", u.Host)
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// link is one link-value of a Link header.
type link struct {
	target string
	next   bool // its rel parameter lists "next"
}

// parseLinks splits a Link header into its link-values:
// <target>; param; param=value; param="quoted, value", <target2>; ...
// Malformed parts are skipped.
func parseLinks(h string) []link {
	var out []link
	for {
		start := strings.IndexByte(h, '<')
		if start < 0 {
			return out
		}
		end := strings.IndexByte(h[start:], '>')
		if end < 0 {
			return out
		}
		l := link{target: h[start+1 : start+end]}
		h = h[start+end+1:]
		// Parameters run to the next ',' outside a quoted string.
		params, rest := splitParams(h)
		h = rest
		for _, p := range params {
			name, value, _ := strings.Cut(p, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "rel") {
				continue
			}
			for _, rel := range strings.Fields(value) {
				if strings.EqualFold(rel, "next") {
					l.next = true
				}
			}
		}
		out = append(out, l)
	}
}

// splitParams reads ";"-separated parameters up to the ',' that ends a
// link-value (commas inside quotes do not count) and returns the rest. A
// quoted-string comes out as its content: without its quotes, escapes
// resolved (rel="next\"" is the relation `next"`, not next).
func splitParams(h string) (params []string, rest string) {
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '"':
			// The quotes of a quoted-string delimit it; they are not
			// part of the value (an escaped one inside is: below).
			quoted = !quoted
		case c == '\\' && quoted && i+1 < len(h):
			cur.WriteByte(h[i+1])
			i++
		case c == ';' && !quoted:
			params = append(params, cur.String())
			cur.Reset()
		case c == ',' && !quoted:
			return append(params, cur.String()), h[i+1:]
		default:
			cur.WriteByte(c)
		}
	}
	return append(params, cur.String()), ""
}
