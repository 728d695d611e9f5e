// Package ec2emu is a local endpoint that speaks the EC2 Query API
// (form-encoded requests with Action=... and Version=2016-11-15, XML
// answers in the shape the EC2 API reference documents) for the four
// actions spotcast's AWS ingester calls: DescribeRegions,
// DescribeSpotPriceHistory, GetSpotPlacementScores and
// DescribeInstanceTypes, and CreateFleet, which spotcast's fleet requests
// (package launch) are checked against.
//
// It serves the data it is given (for example real
// `aws ec2 describe-spot-price-history` output), honours the filters and
// MaxResults/NextToken paging, and can be told to throttle calls, fail a
// region or serve malformed records, so the real aws-sdk-go-v2 client and
// the AWS CLI can both be tested against it without a network. A Server is
// an http.Handler: start it with httptest.NewServer.
package ec2emu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spotcast/spotcast/market"
)

// APIVersion is the EC2 API version every request must name.
const APIVersion = "2016-11-15"

const xmlNamespace = "http://ec2.amazonaws.com/doc/" + APIVersion + "/"

// Actions the emulator answers.
const (
	ActionDescribeRegions          = "DescribeRegions"
	ActionDescribeSpotPriceHistory = "DescribeSpotPriceHistory"
	ActionGetSpotPlacementScores   = "GetSpotPlacementScores"
	ActionDescribeInstanceTypes    = "DescribeInstanceTypes"
)

// Page-size limits and defaults, as the EC2 API reference gives them.
const (
	maxSpotPriceResults    = 1000
	maxInstanceTypeResults = 100
	maxPlacementResults    = 1000
)

// SpotPrice is one DescribeSpotPriceHistory record. SpotPrice is text, as
// on the wire, so a malformed price can be served on purpose.
type SpotPrice struct {
	AvailabilityZone   string
	InstanceType       string
	ProductDescription string
	SpotPrice          string
	Timestamp          time.Time
	// Region serves the record in that region when AvailabilityZone is
	// empty (a malformed record); otherwise the zone's region is used.
	Region string
}

func (p SpotPrice) region() string {
	if p.AvailabilityZone == "" {
		return p.Region
	}
	r, err := market.RegionOfZone(p.AvailabilityZone)
	if err != nil {
		return p.Region
	}
	return r
}

// Region is one DescribeRegions entry. OptInStatus is
// "opt-in-not-required", "opted-in" or "not-opted-in"; only the last is
// left out unless the request says AllRegions=true.
type Region struct {
	Name        string
	Endpoint    string
	OptInStatus string
}

// GPU is one GPU model fitted to an instance type.
type GPU struct {
	Name         string
	Manufacturer string
	Count        int
	MemoryMiB    int64 // per GPU
}

// InstanceType is one DescribeInstanceTypes entry (the fields spotcast
// reads).
type InstanceType struct {
	Name          string
	VCPUs         int
	MemoryMiB     int64
	Architectures []string
	GPUs          []GPU
	// TotalGPUMemoryMiB is the sum over GPUs; 0 means "compute it".
	TotalGPUMemoryMiB int64
}

// PlacementScore is one GetSpotPlacementScores answer row. Rows with an
// AvailabilityZoneID answer requests with SingleAvailabilityZone=true,
// rows without answer region-level requests.
type PlacementScore struct {
	Region             string
	AvailabilityZoneID string
	Score              int
}

// Fault is an error the emulator answers with.
type Fault struct {
	Status  int    // HTTP status, 400 or 503 for EC2
	Code    string // e.g. "RequestLimitExceeded", "UnauthorizedOperation"
	Message string
}

// Throttled is the fault EC2 answers when an account exceeds its request
// rate.
var Throttled = Fault{Status: http.StatusServiceUnavailable, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}

// Server is the emulator. Its methods are safe for concurrent use with
// requests being served.
type Server struct {
	mu      sync.Mutex
	regions []Region
	prices  []SpotPrice
	// answers caches each DescribeSpotPriceHistory query's full answer, so
	// paging through a large answer does not filter and sort the data
	// once per page; AddSpotPrices clears it.
	answers     map[string][]SpotPrice
	dataVersion int
	types       map[string]InstanceType
	typeOrder   []string
	scores      []PlacementScore
	injects     map[string][]*inject
	regionFault map[string]Fault
	calls       map[string]int
	configs     map[string]bool
	lastForm    map[string]map[string][]string
	requestSeq  int
	// defaultRegion answers unsigned requests (aws --no-sign-request).
	defaultRegion string
	// CreateFleet state (fleet.go).
	capacity              map[string]int
	fleets                []Fleet
	fleetSeq, instanceSeq int
}

// New returns an empty emulator whose unsigned requests are taken to be
// for us-east-1.
func New() *Server {
	return &Server{
		types:         map[string]InstanceType{},
		injects:       map[string][]*inject{},
		regionFault:   map[string]Fault{},
		calls:         map[string]int{},
		configs:       map[string]bool{},
		lastForm:      map[string]map[string][]string{},
		defaultRegion: "us-east-1",
	}
}

// SetRegions replaces the regions DescribeRegions lists.
func (s *Server) SetRegions(r ...Region) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions = slices.Clone(r)
}

// AddSpotPrices adds price records; each is served in its zone's region.
func (s *Server) AddSpotPrices(p ...SpotPrice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prices = append(s.prices, p...)
	s.answers = nil
	s.dataVersion++
}

// AddInstanceTypes adds (or replaces) catalogue entries.
func (s *Server) AddInstanceTypes(t ...InstanceType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range t {
		if _, ok := s.types[it.Name]; !ok {
			s.typeOrder = append(s.typeOrder, it.Name)
		}
		s.types[it.Name] = it
	}
}

// SetPlacementScores replaces the scores GetSpotPlacementScores answers.
func (s *Server) SetPlacementScores(p ...PlacementScore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scores = slices.Clone(p)
}

// inject is a planned fault: after `after` more calls succeed, the next
// `count` calls answer fault.
type inject struct {
	after, count int
	fault        Fault
}

// Throttle makes the next n calls of action ("" for every action) answer
// RequestLimitExceeded with HTTP 503.
func (s *Server) Throttle(action string, n int) {
	s.Inject(action, 0, n, Throttled)
}

// Inject makes calls of action ("" for every action) answer f: after the
// next `after` calls have been answered normally, the `count` calls that
// follow get f. Injections of one action run one after another.
func (s *Server) Inject(action string, after, count int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injects[action] = append(s.injects[action], &inject{after: after, count: count, fault: f})
}

// nextFault consumes the plan of action for one call. Called with mu held.
func (s *Server) nextFault(action string) *Fault {
	for _, key := range []string{action, ""} {
		q := s.injects[key]
		for len(q) > 0 && q[0].count <= 0 {
			q = q[1:]
		}
		s.injects[key] = q
		if len(q) == 0 {
			continue
		}
		in := q[0]
		if in.after > 0 {
			in.after--
			continue
		}
		in.count--
		f := in.fault
		return &f
	}
	return nil
}

// FailRegion makes every call made for region answer f (a zero Fault
// clears it). The region of a call is the one its SigV4 credential scope
// names.
func (s *Server) FailRegion(region string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.regionFault, region)
		return
	}
	s.regionFault[region] = f
}

// Calls returns how many requests for action were received, including
// throttled and failed ones.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// PlacementConfigs returns how many distinct GetSpotPlacementScores
// request configurations were received.
func (s *Server) PlacementConfigs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.configs)
}

// LastForm returns the form parameters of the last request for action,
// so tests can check what a client sent.
func (s *Server) LastForm(action string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastForm[action]
}

// apiError is an EC2 error answer.
type apiError struct {
	Fault
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badParam(format string, args ...any) *apiError {
	return &apiError{Fault{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: fmt.Sprintf(format, args...)}}
}

// ServeHTTP answers one EC2 Query API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requestSeq++
	reqID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.requestSeq)
	s.mu.Unlock()

	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeError(w, reqID, &apiError{Fault{Status: http.StatusMethodNotAllowed, Code: "InvalidHttpRequest", Message: "method " + r.Method + " is not supported"}})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, reqID, badParam("cannot parse the request form: %v", err))
		return
	}
	form := r.Form
	action := form.Get("Action")
	region := requestRegion(r, s.defaultRegion)

	s.mu.Lock()
	s.calls[action]++
	s.lastForm[action] = cloneForm(form)
	fault := s.nextFault(action)
	if fault == nil {
		if f, ok := s.regionFault[region]; ok {
			fault = &f
		}
	}
	s.mu.Unlock()

	if fault != nil {
		writeError(w, reqID, &apiError{*fault})
		return
	}
	switch v := form.Get("Version"); {
	case v == "":
		writeError(w, reqID, &apiError{Fault{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "the request must contain the parameter Version"}})
		return
	case v != APIVersion:
		writeError(w, reqID, &apiError{Fault{Status: http.StatusBadRequest, Code: "NoSuchVersion", Message: "version " + v + " is not supported; use " + APIVersion}})
		return
	}

	var (
		body any
		err  *apiError
	)
	switch action {
	case ActionDescribeRegions:
		body, err = s.describeRegions(form, reqID)
	case ActionDescribeSpotPriceHistory:
		body, err = s.describeSpotPriceHistory(form, region, reqID)
	case ActionGetSpotPlacementScores:
		body, err = s.getSpotPlacementScores(form, reqID)
	case ActionDescribeInstanceTypes:
		body, err = s.describeInstanceTypes(form, reqID)
	case ActionCreateFleet:
		body, err = s.createFleet(form, region, reqID)
	case "":
		err = &apiError{Fault{Status: http.StatusBadRequest, Code: "MissingAction", Message: "the request must contain the parameter Action"}}
	default:
		err = &apiError{Fault{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "the action " + action + " is not valid for this web service"}}
	}
	if err != nil {
		writeError(w, reqID, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	_ = enc.Encode(body)
}

func cloneForm(f map[string][]string) map[string][]string {
	c := make(map[string][]string, len(f))
	for k, v := range f {
		c[k] = slices.Clone(v)
	}
	return c
}

// requestRegion reads the region from the SigV4 credential scope
// ("Credential=AKID/20240101/us-east-1/ec2/aws4_request").
func requestRegion(r *http.Request, def string) string {
	auth := r.Header.Get("Authorization")
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return def
	}
	scope, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(scope), "/")
	if len(parts) != 5 || parts[2] == "" {
		return def
	}
	return parts[2]
}

type errorResponse struct {
	XMLName xml.Name `xml:"Response"`
	Errors  []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
	RequestID string `xml:"RequestID"`
}

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	var body errorResponse
	body.Errors = append(body.Errors, struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}{e.Code, e.Message})
	body.RequestID = reqID
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body)
}

// list reads a flattened query list: Name.1, Name.2, ...
func list(form map[string][]string, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[name+"."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// filters reads Filter.N.Name / Filter.N.Value.M.
func filters(form map[string][]string) map[string][]string {
	out := map[string][]string{}
	for i := 1; ; i++ {
		prefix := "Filter." + strconv.Itoa(i)
		name, ok := form[prefix+".Name"]
		if !ok || len(name) == 0 {
			return out
		}
		out[name[0]] = append(out[name[0]], list(form, prefix+".Value")...)
	}
}

func first(form map[string][]string, key string) string {
	if v := form[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func parseTime(form map[string][]string, key string) (time.Time, *apiError) {
	v := first(form, key)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badParam("%s %q is not an ISO 8601 date-time", key, v)
	}
	return t, nil
}

func parseBool(form map[string][]string, key string) (bool, *apiError) {
	v := first(form, key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badParam("%s %q is not a boolean", key, v)
	}
	return b, nil
}

// pageBounds reads MaxResults and NextToken. The token carries the offset
// and a digest of the other parameters, so a client that changes its
// query between pages is told so, as EC2 does.
func pageBounds(form map[string][]string, action string, def, maxN int) (offset, size int, digest string, err *apiError) {
	size = def
	if v := first(form, "MaxResults"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > maxN {
			return 0, 0, "", badParam("MaxResults %q must be an integer from 1 to %d", v, maxN)
		}
		size = n
	}
	digest = queryDigest(form, action)
	tok := first(form, "NextToken")
	if tok == "" {
		return 0, size, digest, nil
	}
	raw, derr := base64.RawURLEncoding.DecodeString(tok)
	if derr != nil {
		return 0, 0, "", badParam("NextToken %q is not valid", tok)
	}
	d, off, ok := strings.Cut(string(raw), ":")
	n, aerr := strconv.Atoi(off)
	if !ok || aerr != nil || n < 0 {
		return 0, 0, "", badParam("NextToken %q is not valid", tok)
	}
	if d != digest {
		return 0, 0, "", badParam("NextToken %q was issued for a different request", tok)
	}
	return n, size, digest, nil
}

func nextToken(digest string, next, total int) string {
	if next >= total {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(digest + ":" + strconv.Itoa(next)))
}

func queryDigest(form map[string][]string, action string) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k == "NextToken" || k == "MaxResults" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(action))
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, strings.Join(form[k], "\x01"))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func pageOf(total, offset, size int) (lo, hi int) {
	lo = min(offset, total)
	hi = min(lo+size, total)
	return lo, hi
}

// ---- DescribeRegions ----

type regionItem struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	XMLName   xml.Name `xml:"DescribeRegionsResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Regions   struct {
		Items []regionItem `xml:"item"`
	} `xml:"regionInfo"`
}

func (s *Server) describeRegions(form map[string][]string, reqID string) (any, *apiError) {
	all, err := parseBool(form, "AllRegions")
	if err != nil {
		return nil, err
	}
	names := list(form, "RegionName")
	f := filters(form)
	for k := range f {
		if k != "region-name" && k != "opt-in-status" {
			return nil, badParam("the filter %q is not supported", k)
		}
	}
	s.mu.Lock()
	regions := slices.Clone(s.regions)
	s.mu.Unlock()

	resp := describeRegionsResponse{Xmlns: xmlNamespace, RequestID: reqID}
	for _, r := range regions {
		if !all && len(names) == 0 && r.OptInStatus == "not-opted-in" {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, r.Name) {
			continue
		}
		if v := f["region-name"]; len(v) > 0 && !slices.Contains(v, r.Name) {
			continue
		}
		if v := f["opt-in-status"]; len(v) > 0 && !slices.Contains(v, r.OptInStatus) {
			continue
		}
		resp.Regions.Items = append(resp.Regions.Items, regionItem{r.Name, r.Endpoint, r.OptInStatus})
	}
	for _, n := range names {
		if !slices.ContainsFunc(regions, func(r Region) bool { return r.Name == n }) {
			return nil, &apiError{Fault{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "invalid region name " + n}}
		}
	}
	return resp, nil
}

// ---- DescribeSpotPriceHistory ----

type spotPriceItem struct {
	AvailabilityZone   string `xml:"availabilityZone,omitempty"`
	InstanceType       string `xml:"instanceType"`
	ProductDescription string `xml:"productDescription"`
	SpotPrice          string `xml:"spotPrice"`
	Timestamp          string `xml:"timestamp"`
}

type describeSpotPriceHistoryResponse struct {
	XMLName   xml.Name `xml:"DescribeSpotPriceHistoryResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	History   struct {
		Items []spotPriceItem `xml:"item"`
	} `xml:"spotPriceHistorySet"`
	NextToken string `xml:"nextToken,omitempty"`
}

// timestampLayout is how EC2 writes timestamps: UTC with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

func (s *Server) describeSpotPriceHistory(form map[string][]string, region, reqID string) (any, *apiError) {
	start, err := parseTime(form, "StartTime")
	if err != nil {
		return nil, err
	}
	end, err := parseTime(form, "EndTime")
	if err != nil {
		return nil, err
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return nil, badParam("EndTime %s is before StartTime %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	types := list(form, "InstanceType")
	products := list(form, "ProductDescription")
	zone := first(form, "AvailabilityZone")
	f := filters(form)
	for k := range f {
		switch k {
		case "availability-zone", "instance-type", "product-description":
		default:
			return nil, badParam("the filter %q is not supported", k)
		}
	}
	offset, size, digest, err := pageBounds(form, ActionDescribeSpotPriceHistory, maxSpotPriceResults, maxSpotPriceResults)
	if err != nil {
		return nil, err
	}

	match := func(p SpotPrice) bool {
		if p.region() != region {
			return false
		}
		if len(types) > 0 && !slices.Contains(types, p.InstanceType) {
			return false
		}
		if len(products) > 0 && !slices.Contains(products, p.ProductDescription) {
			return false
		}
		if zone != "" && p.AvailabilityZone != zone {
			return false
		}
		if v := f["availability-zone"]; len(v) > 0 && !slices.Contains(v, p.AvailabilityZone) {
			return false
		}
		if v := f["instance-type"]; len(v) > 0 && !slices.Contains(v, p.InstanceType) {
			return false
		}
		if v := f["product-description"]; len(v) > 0 && !slices.Contains(v, p.ProductDescription) {
			return false
		}
		return true
	}

	cacheKey := region + "/" + digest
	s.mu.Lock()
	inRange, cached := s.answers[cacheKey]
	version := s.dataVersion
	s.mu.Unlock()
	if !cached {
		inRange = s.spotPriceAnswer(match, start, end)
		s.mu.Lock()
		if s.dataVersion == version {
			if s.answers == nil || len(s.answers) >= 64 {
				s.answers = map[string][]SpotPrice{}
			}
			s.answers[cacheKey] = inRange
		}
		s.mu.Unlock()
	}

	lo, hi := pageOf(len(inRange), offset, size)
	resp := describeSpotPriceHistoryResponse{Xmlns: xmlNamespace, RequestID: reqID, NextToken: nextToken(digest, hi, len(inRange))}
	resp.History.Items = make([]spotPriceItem, 0, hi-lo)
	for _, p := range inRange[lo:hi] {
		resp.History.Items = append(resp.History.Items, spotPriceItem{
			AvailabilityZone:   p.AvailabilityZone,
			InstanceType:       p.InstanceType,
			ProductDescription: p.ProductDescription,
			SpotPrice:          p.SpotPrice,
			Timestamp:          p.Timestamp.UTC().Format(timestampLayout),
		})
	}
	return resp, nil
}

// spotPriceAnswer is the full answer of a query: the matching records
// from start to end, plus each pool's last change before start, newest
// first.
func (s *Server) spotPriceAnswer(match func(SpotPrice) bool, start, end time.Time) []SpotPrice {
	type poolKey struct{ zone, typ, product string }
	var inRange []SpotPrice
	before := map[poolKey]SpotPrice{}
	s.mu.Lock()
	for _, p := range s.prices {
		if !match(p) || (!end.IsZero() && p.Timestamp.After(end)) {
			continue
		}
		if !start.IsZero() && p.Timestamp.Before(start) {
			// EC2 also returns the last change before StartTime: the
			// price in effect at StartTime.
			k := poolKey{p.AvailabilityZone, p.InstanceType, p.ProductDescription}
			if b, ok := before[k]; !ok || p.Timestamp.After(b.Timestamp) {
				before[k] = p
			}
			continue
		}
		inRange = append(inRange, p)
	}
	s.mu.Unlock()
	for _, p := range before {
		inRange = append(inRange, p)
	}
	// Newest first, as EC2 answers; ties in a fixed order so pages are
	// stable across calls.
	sort.SliceStable(inRange, func(i, j int) bool {
		a, b := inRange[i], inRange[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.After(b.Timestamp)
		}
		if a.InstanceType != b.InstanceType {
			return a.InstanceType < b.InstanceType
		}
		if a.ProductDescription != b.ProductDescription {
			return a.ProductDescription < b.ProductDescription
		}
		return a.AvailabilityZone < b.AvailabilityZone
	})
	return inRange
}

// ---- GetSpotPlacementScores ----

type placementItem struct {
	Region             string `xml:"region"`
	AvailabilityZoneID string `xml:"availabilityZoneId,omitempty"`
	Score              int    `xml:"score"`
}

type getSpotPlacementScoresResponse struct {
	XMLName   xml.Name `xml:"GetSpotPlacementScoresResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Scores    struct {
		Items []placementItem `xml:"item"`
	} `xml:"spotPlacementScoreSet"`
	NextToken string `xml:"nextToken,omitempty"`
}

func (s *Server) getSpotPlacementScores(form map[string][]string, reqID string) (any, *apiError) {
	tc := first(form, "TargetCapacity")
	if tc == "" {
		return nil, &apiError{Fault{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "the request must contain the parameter TargetCapacity"}}
	}
	if n, err := strconv.Atoi(tc); err != nil || n < 1 || n > 2000000000 {
		return nil, badParam("TargetCapacity %q must be an integer from 1 to 2000000000", tc)
	}
	switch u := first(form, "TargetCapacityUnitType"); u {
	case "", "units", "vcpu", "memory-mib":
	default:
		return nil, badParam("TargetCapacityUnitType %q must be units, vcpu or memory-mib", u)
	}
	types := list(form, "InstanceType")
	hasReq := false
	for k := range form {
		if strings.HasPrefix(k, "InstanceRequirementsWithMetadata.") {
			hasReq = true
			break
		}
	}
	if len(types) > 0 && hasReq {
		return nil, &apiError{Fault{Status: http.StatusBadRequest, Code: "InvalidParameterCombination", Message: "specify InstanceTypes or InstanceRequirementsWithMetadata, not both"}}
	}
	if len(types) == 0 && !hasReq {
		return nil, &apiError{Fault{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "the request must contain InstanceTypes or InstanceRequirementsWithMetadata"}}
	}
	single, err := parseBool(form, "SingleAvailabilityZone")
	if err != nil {
		return nil, err
	}
	regions := list(form, "RegionName")
	offset, size, digest, err := pageBounds(form, ActionGetSpotPlacementScores, maxPlacementResults, maxPlacementResults)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	s.configs[digest] = true
	var rows []PlacementScore
	for _, p := range s.scores {
		if (p.AvailabilityZoneID != "") != single {
			continue
		}
		if len(regions) > 0 && !slices.Contains(regions, p.Region) {
			continue
		}
		rows = append(rows, p)
	}
	s.mu.Unlock()
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Score > rows[j].Score })

	lo, hi := pageOf(len(rows), offset, size)
	resp := getSpotPlacementScoresResponse{Xmlns: xmlNamespace, RequestID: reqID, NextToken: nextToken(digest, hi, len(rows))}
	resp.Scores.Items = make([]placementItem, 0, hi-lo)
	for _, p := range rows[lo:hi] {
		resp.Scores.Items = append(resp.Scores.Items, placementItem(p))
	}
	return resp, nil
}

// ---- DescribeInstanceTypes ----

type itemList struct {
	Items []string `xml:"item"`
}

type gpuItem struct {
	Name         string `xml:"name"`
	Manufacturer string `xml:"manufacturer"`
	Count        int    `xml:"count"`
	MemoryInfo   struct {
		SizeInMiB int64 `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
}

type gpuInfo struct {
	GPUs struct {
		Items []gpuItem `xml:"item"`
	} `xml:"gpus"`
	TotalGPUMemoryInMiB int64 `xml:"totalGpuMemoryInMiB"`
}

type instanceTypeItem struct {
	InstanceType  string `xml:"instanceType"`
	ProcessorInfo struct {
		SupportedArchitectures itemList `xml:"supportedArchitectures"`
	} `xml:"processorInfo"`
	VCPUInfo struct {
		DefaultVCPUs int `xml:"defaultVCpus"`
	} `xml:"vCpuInfo"`
	MemoryInfo struct {
		SizeInMiB int64 `xml:"sizeInMiB"`
	} `xml:"memoryInfo"`
	GPUInfo *gpuInfo `xml:"gpuInfo,omitempty"`
}

type describeInstanceTypesResponse struct {
	XMLName   xml.Name `xml:"DescribeInstanceTypesResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	RequestID string   `xml:"requestId"`
	Types     struct {
		Items []instanceTypeItem `xml:"item"`
	} `xml:"instanceTypeSet"`
	NextToken string `xml:"nextToken,omitempty"`
}

func (s *Server) describeInstanceTypes(form map[string][]string, reqID string) (any, *apiError) {
	names := list(form, "InstanceType")
	if len(names) > 100 {
		return nil, badParam("at most 100 instance types may be given, not %d", len(names))
	}
	f := filters(form)
	for k := range f {
		if k != "instance-type" {
			return nil, badParam("the filter %q is not supported", k)
		}
	}
	// The instance-type filter takes wildcards and, unlike InstanceType,
	// ignores names that match nothing.
	patterns := f["instance-type"]
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, badParam("instance-type filter %q is not a valid pattern", p)
		}
	}
	matches := func(name string) bool {
		if len(patterns) == 0 {
			return true
		}
		for _, p := range patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	offset, size, digest, err := pageBounds(form, ActionDescribeInstanceTypes, maxInstanceTypeResults, maxInstanceTypeResults)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var rows []InstanceType
	var unknown []string
	if len(names) == 0 {
		for _, n := range s.typeOrder {
			if matches(n) {
				rows = append(rows, s.types[n])
			}
		}
	} else {
		for _, n := range names {
			t, ok := s.types[n]
			if !ok {
				unknown = append(unknown, n)
				continue
			}
			if matches(n) {
				rows = append(rows, t)
			}
		}
	}
	s.mu.Unlock()
	if len(unknown) > 0 {
		return nil, &apiError{Fault{Status: http.StatusBadRequest, Code: "InvalidInstanceType", Message: "The following supplied instance types do not exist: [" + strings.Join(unknown, ", ") + "]"}}
	}

	lo, hi := pageOf(len(rows), offset, size)
	resp := describeInstanceTypesResponse{Xmlns: xmlNamespace, RequestID: reqID, NextToken: nextToken(digest, hi, len(rows))}
	resp.Types.Items = make([]instanceTypeItem, 0, hi-lo)
	for _, t := range rows[lo:hi] {
		var it instanceTypeItem
		it.InstanceType = t.Name
		it.ProcessorInfo.SupportedArchitectures.Items = t.Architectures
		it.VCPUInfo.DefaultVCPUs = t.VCPUs
		it.MemoryInfo.SizeInMiB = t.MemoryMiB
		if len(t.GPUs) > 0 {
			gi := &gpuInfo{TotalGPUMemoryInMiB: t.TotalGPUMemoryMiB}
			var total int64
			for _, g := range t.GPUs {
				item := gpuItem{Name: g.Name, Manufacturer: g.Manufacturer, Count: g.Count}
				item.MemoryInfo.SizeInMiB = g.MemoryMiB
				gi.GPUs.Items = append(gi.GPUs.Items, item)
				total += int64(g.Count) * g.MemoryMiB
			}
			if gi.TotalGPUMemoryInMiB == 0 {
				gi.TotalGPUMemoryInMiB = total
			}
			it.GPUInfo = gi
		}
		resp.Types.Items = append(resp.Types.Items, it)
	}
	return resp, nil
}
