// Package awsapi ingests the spot market from the AWS EC2 API: spot price
// history for every enabled region (DescribeRegions,
// DescribeSpotPriceHistory), Spot placement scores for configured requests
// (GetSpotPlacementScores) and the GPU catalogue of the instance types seen
// (DescribeInstanceTypes).
//
// Each region's prices are read incrementally from a per-region watermark
// (less an overlap window, since AWS may publish a change late) and land
// in one store transaction together with the new watermark, so a crash
// mid-region leaves the store consistent and the next run resumes from the
// last committed watermark. A region that fails is reported and the others
// finish. Any EC2-compatible endpoint can be used (Options.EndpointURL);
// package ec2emu is one for tests.
package awsapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/aws/smithy-go/logging"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Defaults of Options.
const (
	DefaultConcurrency = 4
	DefaultOverlap     = time.Hour
	DefaultBackfill    = 7 * 24 * time.Hour
	// MaxHistory is how far back DescribeSpotPriceHistory reaches.
	MaxHistory             = 90 * 24 * time.Hour
	DefaultMaxAttempts     = 8
	DefaultMaxBackoff      = 20 * time.Second
	DefaultPlacementBudget = 10
	// DefaultRegion answers DescribeRegions and, unless set otherwise,
	// GetSpotPlacementScores when no region is configured.
	DefaultRegion = "us-east-1"
)

// ErrAllRegionsFailed: no region's prices could be read.
var ErrAllRegionsFailed = errors.New("every region failed")

// Options tune Ingest. The zero value ingests every enabled region with
// the defaults above.
type Options struct {
	// Regions to read; empty: every region DescribeRegions lists as
	// enabled for the account.
	Regions []string
	// EndpointURL points the SDK at an EC2-compatible endpoint (the SDK's
	// BaseEndpoint) for every region; "" uses AWS's regional endpoints.
	EndpointURL string
	// Concurrency is how many regions are read at once (default 4).
	Concurrency int
	// Backfill is how far back a region with no watermark starts
	// (default 7 days; at most 90 days, all AWS keeps).
	Backfill time.Duration
	// Since, if > 0, starts every region at now-Since whatever its
	// watermark says (re-read rows are counted as duplicates).
	Since time.Duration
	// Overlap is re-read before each watermark (default 1 h).
	Overlap time.Duration
	// InstanceTypes and ProductDescriptions filter the price history
	// (empty: all), e.g. "p3.2xlarge", "Linux/UNIX".
	InstanceTypes       []string
	ProductDescriptions []string
	// PageSize is MaxResults per DescribeSpotPriceHistory call (0: the
	// service's default of 1000).
	PageSize int32

	// PlacementRequests are fetched with GetSpotPlacementScores.
	PlacementRequests []PlacementRequest
	// PlacementBudget is how many distinct request configurations may be
	// used per rolling 24 hours (default 10; AWS limits new configurations
	// per account per 24 h). A request over budget is skipped with a
	// warning.
	PlacementBudget int
	// PlacementRegion is the region whose endpoint is asked for placement
	// scores (default: the first region read, else us-east-1).
	PlacementRegion string

	// SkipCatalogue leaves DescribeInstanceTypes out.
	SkipCatalogue bool

	// MaxAttempts and MaxBackoff tune the retry of throttled and
	// transient failures (defaults 8 and 20 s).
	MaxAttempts int
	MaxBackoff  time.Duration

	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger receives progress and warnings (nil: discarded).
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Backfill <= 0 {
		o.Backfill = DefaultBackfill
	}
	if o.Backfill > MaxHistory {
		o.Backfill = MaxHistory
	}
	if o.Since > MaxHistory {
		o.Since = MaxHistory
	}
	if o.Overlap < 0 {
		return o, fmt.Errorf("overlap %s is negative", o.Overlap)
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.PageSize < 0 {
		return o, fmt.Errorf("page size %d is negative", o.PageSize)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.PlacementBudget == 0 {
		o.PlacementBudget = DefaultPlacementBudget
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Regions = slices.Clone(o.Regions) // trimmed below; the caller's slice stays as it was
	for i, r := range o.Regions {
		r = strings.TrimSpace(r)
		if r == "" {
			return o, fmt.Errorf("region %d is empty", i+1)
		}
		o.Regions[i] = r
	}
	for i, p := range o.PlacementRequests {
		if err := p.validate(); err != nil {
			return o, fmt.Errorf("placement request %d (%s): %w", i+1, p.label(), err)
		}
	}
	return o, nil
}

// Client is what the ingester needs from EC2; *ec2.Client implements it.
// Its parts are the SDK's own paginator interfaces.
type Client interface {
	ec2.DescribeSpotPriceHistoryAPIClient
	ec2.GetSpotPlacementScoresAPIClient
	ec2.DescribeInstanceTypesAPIClient
	DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// LoadConfig loads the AWS configuration the standard way (environment,
// shared config and credentials files, SSO, web identity, container and
// instance roles), defaulting the region to us-east-1 and pointing every
// client at opts.EndpointURL when set. The SDK's own log lines go to
// opts.Logger at debug level: probing the instance metadata service on a
// machine that is not an EC2 instance (its "falling back to IMDSv1"
// warning) is expected, and the caller says what the absence of
// credentials means.
func LoadConfig(ctx context.Context, opts Options) (aws.Config, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		log.Debug("aws sdk: "+fmt.Sprintf(format, v...), "class", string(c))
	})))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if opts.EndpointURL != "" {
		cfg.BaseEndpoint = aws.String(opts.EndpointURL)
	}
	return cfg, nil
}

// HaveCredentials reports whether cfg's credential chain yields
// credentials, giving up after a few seconds. Without credentials the
// caller should use the simulator and say so. Outside EC2, setting
// AWS_EC2_METADATA_DISABLED=true keeps the chain from probing the instance
// metadata service.
func HaveCredentials(ctx context.Context, cfg aws.Config) bool {
	if cfg.Credentials == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	creds, err := cfg.Credentials.Retrieve(ctx)
	return err == nil && creds.HasKeys()
}

// newRetryer retries what the SDK's standard retryer deems retryable,
// which includes EC2's throttle codes (RequestLimitExceeded,
// EC2ThrottledException) and 5xx answers, with exponential backoff and
// jitter. The client-side retry quota is off: a batch ingest that is
// throttled should slow down, not give up after a fixed number of retries
// shared by all regions.
func newRetryer(o Options) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.MaxAttempts
			so.MaxBackoff = o.MaxBackoff
			so.RateLimiter = ratelimit.None
		})
	}
}

// bufferedBodyClient hands the transport its own in-memory copy of each
// request body. The SDK closes the request body as soon as the response
// headers arrive, while net/http may still be reading that body to check
// for trailing bytes; the read fails and the transport closes the
// connection under the response being decoded ("use of closed network
// connection", aws/aws-sdk-go-v2 issues 1825 and 2737). Against a fast
// endpoint this failed a third of calls. EC2 Query bodies are small forms,
// so the copy costs nothing.
type bufferedBodyClient struct {
	next aws.HTTPClient
}

func (c bufferedBodyClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.next.Do(req)
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return c.next.Do(r)
}

// clientFactory returns the EC2 client of a region.
type clientFactory func(region string) Client

func sdkClients(cfg aws.Config, o Options) clientFactory {
	retryer := newRetryer(o)
	return func(region string) Client {
		return ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
			eo.Region = region
			eo.Retryer = retryer()
			next := eo.HTTPClient
			if next == nil {
				next = awshttp.NewBuildableClient()
			}
			eo.HTTPClient = bufferedBodyClient{next: next}
			if o.EndpointURL != "" {
				eo.BaseEndpoint = aws.String(o.EndpointURL)
			}
		})
	}
}
