package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// PlacementRequest is one Spot placement score request: instance types
// (AWS advises at least three) or instance requirements, a target
// capacity, and the regions to score.
type PlacementRequest struct {
	// Name labels the request in logs and reports (default: its types).
	Name          string   `json:"name,omitempty" yaml:"name"`
	InstanceTypes []string `json:"instance_types,omitempty" yaml:"instance_types"`
	// Requirements is an InstanceRequirementsWithMetadataRequest as JSON,
	// e.g. {"ArchitectureTypes":["x86_64"],"InstanceRequirements":
	// {"VCpuCount":{"Min":4},"MemoryMiB":{"Min":16384}}}.
	Requirements   string `json:"requirements,omitempty" yaml:"requirements"`
	TargetCapacity int    `json:"target_capacity" yaml:"target_capacity"`
	// CapacityUnit is "units" (instances, the default), "vcpu" or
	// "memory-mib".
	CapacityUnit string `json:"capacity_unit,omitempty" yaml:"capacity_unit"`
	// Regions to score (empty: the regions being ingested).
	Regions []string `json:"regions,omitempty" yaml:"regions"`
	// SingleAZ asks for a score per availability zone.
	SingleAZ bool `json:"single_az,omitempty" yaml:"single_az"`
}

func (p PlacementRequest) label() string {
	if p.Name != "" {
		return p.Name
	}
	if len(p.InstanceTypes) > 0 {
		return strings.Join(p.InstanceTypes, ",")
	}
	return "requirements"
}

func (p PlacementRequest) validate() error {
	if (len(p.InstanceTypes) > 0) == (p.Requirements != "") {
		return errors.New("give instance types or requirements, one of the two")
	}
	if p.TargetCapacity < 1 {
		return fmt.Errorf("target capacity %d: must be at least 1", p.TargetCapacity)
	}
	switch p.CapacityUnit {
	case "", "units", "vcpu", "memory-mib":
	default:
		return fmt.Errorf("capacity unit %q: must be units, vcpu or memory-mib", p.CapacityUnit)
	}
	if p.Requirements != "" {
		if _, err := p.requirements(); err != nil {
			return err
		}
	}
	return nil
}

func (p PlacementRequest) requirements() (*types.InstanceRequirementsWithMetadataRequest, error) {
	var r types.InstanceRequirementsWithMetadataRequest
	dec := json.NewDecoder(strings.NewReader(p.Requirements))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("requirements: not an InstanceRequirementsWithMetadataRequest: %w", err)
	}
	return &r, nil
}

func (p PlacementRequest) unit() string {
	if p.CapacityUnit == "" {
		return "units"
	}
	return p.CapacityUnit
}

// canonical is the request with types and regions sorted and the
// requirements' JSON compacted: the same configuration in another order
// is the same configuration, as AWS counts them.
func (p PlacementRequest) canonical(regions []string) string {
	ts := slices.Clone(p.InstanceTypes)
	slices.Sort(ts)
	rs := slices.Clone(regions)
	slices.Sort(rs)
	var req bytes.Buffer
	if p.Requirements != "" {
		_ = json.Compact(&req, []byte(p.Requirements))
	}
	return strings.Join([]string{
		strings.Join(ts, ","), req.String(), strconv.Itoa(p.TargetCapacity), p.unit(),
		strings.Join(rs, ","), strconv.FormatBool(p.SingleAZ),
	}, "|")
}

// PlacementWatermark is the watermark key that records when a placement
// request configuration was last sent.
func PlacementWatermark(canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	return market.SourceAWSAPI + ":placement:" + hex.EncodeToString(h[:8])
}

// budgetWindow is the period AWS counts new request configurations over.
const budgetWindow = 24 * time.Hour

// ingestPlacement sends each configured request that fits the budget and
// stores its scores with its watermark. A configuration sent within the
// last 24 hours may be sent again at no cost to the budget (AWS lets a
// configuration already used be retried).
func ingestPlacement(ctx context.Context, store *storage.Store, c Client, clientRegion string, regions []string, now time.Time, o Options) []PlacementReport {
	log := o.Logger
	reps := make([]PlacementReport, len(o.PlacementRequests))
	type pending struct {
		i         int
		key       string
		regions   []string
		canonical string
	}
	var todo []pending
	used := 0
	var fresh []pending
	for i, p := range o.PlacementRequests {
		rs := p.Regions
		if len(rs) == 0 {
			rs = regions
		}
		canon := p.canonical(rs)
		key := PlacementWatermark(canon)
		reps[i] = PlacementReport{Request: p.label(), Key: key}
		last, ok, err := store.Watermark(ctx, key)
		if err != nil {
			reps[i].Error = err.Error()
			continue
		}
		if ok && now.Sub(last) < budgetWindow {
			used++
			todo = append(todo, pending{i, key, rs, canon})
			continue
		}
		fresh = append(fresh, pending{i, key, rs, canon})
	}
	budget := max(o.PlacementBudget, 0)
	log.Info("placement scores: AWS limits new request configurations per account per 24 h; keeping a local budget",
		"budget", budget, "used_in_24h", used, "requests", len(o.PlacementRequests))
	for _, f := range fresh {
		if used >= budget {
			reps[f.i].Skipped = fmt.Sprintf("over budget: %d of %d new configurations per 24 h used", used, budget)
			log.Warn("placement request skipped: over budget", "request", reps[f.i].Request, "used", used, "budget", budget)
			continue
		}
		used++
		todo = append(todo, f)
	}
	slices.SortFunc(todo, func(a, b pending) int { return a.i - b.i })

	for _, t := range todo {
		p := o.PlacementRequests[t.i]
		rep := &reps[t.i]
		rows, bad, err := fetchPlacement(ctx, c, p, t.regions, now)
		if err != nil {
			rep.Error = err.Error()
			log.Warn("placement request failed", "request", rep.Request, "error", err)
			continue
		}
		rep.RowsRead = int64(len(rows) + len(bad))
		rep.BadRows = int64(len(bad))
		for _, b := range bad {
			log.Warn("bad placement score skipped", "request", rep.Request, "reason", b)
		}
		run := storage.RunInfo{Kind: "aws", Source: market.SourceAWSAPI, Path: endpointOf(o, clientRegion), Format: "GetSpotPlacementScores"}
		stats, err := store.Import(ctx, run, func(w *storage.Writer) error {
			for _, r := range rows {
				if err := w.AddPlacementScore(r); err != nil {
					return fmt.Errorf("placement score %s %s: %w", r.Region, r.Zone, err)
				}
			}
			w.SetWatermark(t.key, now)
			return nil
		})
		if err != nil {
			rep.Error = "store: " + err.Error()
			continue
		}
		st := stats.Tables["placement_scores"]
		rep.RowsStored, rep.Duplicates = st.Stored, st.Added-st.Stored
		log.Info("placement scores stored", "request", rep.Request, "scores", len(rows), "stored", rep.RowsStored)
	}
	return reps
}

func fetchPlacement(ctx context.Context, c Client, p PlacementRequest, regions []string, now time.Time) ([]market.PlacementScore, []string, error) {
	in := &ec2.GetSpotPlacementScoresInput{
		TargetCapacity:         aws.Int32(int32(min(p.TargetCapacity, 2_000_000_000))),
		TargetCapacityUnitType: types.TargetCapacityUnitType(p.unit()),
		SingleAvailabilityZone: aws.Bool(p.SingleAZ),
		RegionNames:            regions,
		InstanceTypes:          p.InstanceTypes,
	}
	var reqJSON string
	if p.Requirements != "" {
		r, err := p.requirements()
		if err != nil {
			return nil, nil, err
		}
		in.InstanceRequirementsWithMetadata = r
		var b bytes.Buffer
		_ = json.Compact(&b, []byte(p.Requirements))
		reqJSON = b.String()
	}
	var rows []market.PlacementScore
	var bad []string
	pager := ec2.NewGetSpotPlacementScoresPaginator(c, in)
	for page := 1; pager.HasMorePages(); page++ {
		out, err := pager.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("get spot placement scores page %d: %w", page, err)
		}
		for i, s := range out.SpotPlacementScores {
			score := int(aws.ToInt32(s.Score))
			region := aws.ToString(s.Region)
			if region == "" || score < 1 || score > 10 {
				bad = append(bad, fmt.Sprintf("page %d record %d: region %q score %d (want a region and a score of 1-10)", page, i+1, region, score))
				continue
			}
			rows = append(rows, market.PlacementScore{
				Region:         region,
				Zone:           aws.ToString(s.AvailabilityZoneId),
				InstanceTypes:  slices.Clone(p.InstanceTypes),
				Requirements:   reqJSON,
				TargetCapacity: p.TargetCapacity,
				CapacityUnit:   p.unit(),
				Score:          score,
				Time:           now,
				Source:         market.SourceAWSAPI,
				FetchedAt:      now,
			})
		}
	}
	return rows, bad, nil
}
