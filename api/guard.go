package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spotcast/spotcast/engine"
)

// probe reports the routes a load balancer or orchestrator polls; they
// stay open when reads are behind the token.
func probe(path string) bool { return path == "/healthz" || path == "/readyz" }

// writes reports a method that changes stored data.
func writes(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// admit runs the checks every request passes before its route's handler:
//   - the path and query parameters are valid UTF-8 without control
//     characters (400 naming the parameter);
//   - a write comes from an allowed Host and no other site's Origin (403),
//     with a JSON body (415): a web page cannot post to the API, even one
//     on a private network, and a DNS-rebound name is not served;
//   - the bearer token, where the route needs it (401).
//
// (The cap on answers computed at once is the Service's: see Limits.)
func (h *handler) admit(w http.ResponseWriter, r *http.Request, rt route) error {
	if err := checkText(r.URL); err != nil {
		return err
	}
	if writes(r.Method) {
		if err := h.checkSite(r); err != nil {
			return err
		}
	}
	if (rt.auth || h.opts.AuthReads && !probe(rt.path)) && h.opts.AuthToken != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="spotcast"`)
		return &engine.Error{Code: engine.CodeUnauthenticated, Message: "missing or wrong bearer token (Authorization: Bearer TOKEN)"}
	}
	if writes(r.Method) {
		return checkJSONBody(r)
	}
	return nil
}

// checkText refuses a path or query parameter that is not valid UTF-8 or
// holds a control character: no stored name has one, and a database or a
// log line should never see one.
func checkText(u *url.URL) error {
	if !cleanText(u.Path) {
		return engine.Invalid("path", "not valid UTF-8 text")
	}
	for k, vs := range u.Query() {
		if !cleanText(k) {
			return engine.Invalid("query", "a parameter name is not valid UTF-8 text")
		}
		for _, v := range vs {
			if !cleanText(v) {
				return engine.Invalid(k, "not valid UTF-8 text (or holds a control character)")
			}
		}
	}
	return nil
}

func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// checkSite refuses a write whose Host is not this server's (a DNS
// rebinding page) or whose Origin is another site (a cross-site form or
// fetch).
func (h *handler) checkSite(r *http.Request) error {
	if !h.hostAllowed(r.Host) {
		return &engine.Error{Code: engine.CodeForbidden, Param: "Host",
			Message: fmt.Sprintf("Host %q is not a name of this server: writes are served for localhost, IP addresses and serve.allowed_hosts", r.Host)}
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return &engine.Error{Code: engine.CodeForbidden, Param: "Origin", Message: "writes are not served to web pages of other sites"}
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || o == "null" || !strings.EqualFold(u.Host, r.Host) {
			return &engine.Error{Code: engine.CodeForbidden, Param: "Origin", Message: fmt.Sprintf("Origin %q is another site: writes are not served to web pages of other sites", o)}
		}
	}
	return nil
}

// hostAllowed: an IP address (a rebinding page cannot make a browser send
// one), localhost, or a configured name; "*" in AllowedHosts allows any.
func (h *handler) hostAllowed(host string) bool {
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	name = strings.TrimSuffix(strings.ToLower(strings.Trim(name, "[]")), ".")
	if name == "" || net.ParseIP(name) != nil || name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	return slices.ContainsFunc(h.opts.AllowedHosts, func(a string) bool { return a == "*" || strings.EqualFold(a, name) })
}

// checkJSONBody refuses a write whose body is not declared JSON. The
// content types a web page may send without asking first (text/plain,
// forms) are exactly the ones refused here.
func checkJSONBody(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == "application/x-ndjson" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &engine.Error{Code: engine.CodeUnsupportedMedia, Param: "Content-Type",
		Message: fmt.Sprintf("Content-Type %q: send the body as application/json (curl: -H 'Content-Type: application/json')", ct)}
}

// metricsAuth puts /metrics behind the token when AuthMetrics says so.
func (h *handler) metricsAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.opts.AuthMetrics && h.opts.AuthToken != "" && !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="spotcast"`)
			h.writeError(w, r, &engine.Error{Code: engine.CodeUnauthenticated, Message: "missing or wrong bearer token (Authorization: Bearer TOKEN)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
