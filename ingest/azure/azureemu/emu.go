// Package azureemu is a local endpoint that speaks the Azure Retail
// Prices API (GET /api/retail/prices with an OData $filter, JSON pages of
// {"BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items",
// "NextPageLink", "Count"}, 100 items a page with $skip paging, as
// learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices
// documents it). It serves the items it is given, honours the equality
// clauses of $filter joined by "and" ("serviceName eq 'Virtual Machines'
// and armRegionName eq 'eastus'"), and can be told to throttle, fail,
// answer with an error body or page forever, so the live source can be
// tested without a network. A Server is an http.Handler: start it with
// httptest.NewServer.
package azureemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// PageSize is the API's page size.
const PageSize = 100

// Item is one price item, as the API names its fields.
type Item map[string]any

// Server serves Items. Set the fault fields before serving; they may also
// be changed between requests under the server's lock with Set.
type Server struct {
	mu    sync.Mutex
	items []Item
	// ThrottleFirst answers the first N requests 429 with Retry-After: 1.
	ThrottleFirst int
	// FailRegion answers every request filtering on this armRegionName
	// with a 500 and a JSON error body.
	FailRegion string
	// BadFilter answers every request with the API's 400 error body.
	BadFilter bool
	// LoopRegion makes the pages of this region link back to their own
	// first page: a NextPageLink that never ends.
	LoopRegion string
	// Requests counts the requests served.
	Requests int
	// BaseURL is the URL the server is reachable at (set after
	// httptest.NewServer), used to build NextPageLink.
	BaseURL string
}

// New returns a server for items.
func New(items []Item) *Server { return &Server{items: items} }

// Set changes the server's fault settings under its lock.
func (s *Server) Set(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

type page struct {
	BillingCurrency    string  `json:"BillingCurrency"`
	CustomerEntityID   string  `json:"CustomerEntityId"`
	CustomerEntityType string  `json:"CustomerEntityType"`
	Items              []Item  `json:"Items"`
	NextPageLink       *string `json:"NextPageLink"`
	Count              int     `json:"Count"`
}

func apiError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"Error": map[string]string{"Code": errCode, "Message": msg}})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Requests++
	if r.URL.Path != "/api/retail/prices" {
		apiError(w, http.StatusNotFound, "NotFound", "no such path")
		return
	}
	if s.ThrottleFirst > 0 {
		s.ThrottleFirst--
		w.Header().Set("Retry-After", "1")
		apiError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests. Please retry.")
		return
	}
	q := r.URL.Query()
	conds, err := parseFilter(q.Get("$filter"))
	if err != nil || s.BadFilter {
		apiError(w, http.StatusBadRequest, "BadRequest", "Invalid OData parameters supplied")
		return
	}
	if s.FailRegion != "" && conds["armRegionName"] == s.FailRegion {
		apiError(w, http.StatusInternalServerError, "InternalServerError", "An unexpected error occurred.")
		return
	}
	skip := 0
	if v := q.Get("$skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			apiError(w, http.StatusBadRequest, "BadRequest", "Invalid OData parameters supplied")
			return
		}
	}
	var match []Item
	for _, it := range s.items {
		ok := true
		for k, v := range conds {
			if f, alias := filterFields[k]; alias {
				k = f
			}
			if fmt.Sprint(it[k]) != v {
				ok = false
				break
			}
		}
		if ok {
			match = append(match, it)
		}
	}
	end := min(skip+PageSize, len(match))
	p := page{BillingCurrency: "USD", CustomerEntityID: "Default", CustomerEntityType: "Retail", Items: []Item{}}
	if skip < len(match) {
		p.Items = match[skip:end]
	}
	p.Count = len(p.Items)
	next := -1
	switch {
	case s.LoopRegion != "" && conds["armRegionName"] == s.LoopRegion:
		next = 0
	case end < len(match):
		next = end
	}
	if next >= 0 {
		v := url.Values{}
		v.Set("$filter", q.Get("$filter"))
		if next > 0 {
			v.Set("$skip", strconv.Itoa(next))
		}
		link := s.BaseURL + "/api/retail/prices?" + v.Encode()
		p.NextPageLink = &link
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(p)
}

// filterFields maps the filter names that differ from the item's field
// names: the API filters on priceType, and items name it type.
var filterFields = map[string]string{"priceType": "type"}

// parseFilter reads "a eq 'x' and b eq 'y'" into {a: x, b: y}.
func parseFilter(f string) (map[string]string, error) {
	conds := map[string]string{}
	if strings.TrimSpace(f) == "" {
		return conds, nil
	}
	for _, c := range strings.Split(f, " and ") {
		field, val, ok := strings.Cut(strings.TrimSpace(c), " eq ")
		if !ok || len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
			return nil, fmt.Errorf("clause %q", c)
		}
		conds[strings.TrimSpace(field)] = strings.ReplaceAll(val[1:len(val)-1], "''", "'")
	}
	return conds, nil
}
