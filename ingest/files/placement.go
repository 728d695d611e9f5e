package files

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// PlacementRequest is the GetSpotPlacementScores request behind a set of
// scores, with the EC2 API's parameter names, so the "Request" of a
// wrapped file is exactly the JSON `aws ec2 get-spot-placement-scores
// --cli-input-json` takes:
//
//	{"Time": "2024-05-01T12:00:00Z",
//	 "Request": {"InstanceTypes": ["p3.2xlarge"], "TargetCapacity": 4,
//	             "TargetCapacityUnitType": "units", "SingleAvailabilityZone": true,
//	             "RegionNames": ["us-east-1", "us-west-2"]},
//	 "Response": {"SpotPlacementScores": [
//	     {"Region": "us-east-1", "AvailabilityZoneId": "use1-az4", "Score": 7}]}}
//
// The bare response (what the CLI prints) does not repeat the request, so
// for a bare file the request comes from Options.Placement. "Time" is when
// the scores were fetched; without it Options.Placement.Time, then the
// file's modification time, is used (noted in the run's info).
type PlacementRequest struct {
	InstanceTypes                    []string        `json:"InstanceTypes,omitempty"`
	InstanceRequirementsWithMetadata json.RawMessage `json:"InstanceRequirementsWithMetadata,omitempty"`
	TargetCapacity                   int             `json:"TargetCapacity"`
	// TargetCapacityUnitType is units (default), vcpu or memory-mib.
	TargetCapacityUnitType string   `json:"TargetCapacityUnitType,omitempty"`
	SingleAvailabilityZone bool     `json:"SingleAvailabilityZone,omitempty"`
	RegionNames            []string `json:"RegionNames,omitempty"`
	// Time, when set, is when the scores were fetched.
	Time time.Time `json:"-"`
}

func (q *PlacementRequest) check() error {
	if q.TargetCapacity < 1 {
		return fmt.Errorf("TargetCapacity %d: must be at least 1", q.TargetCapacity)
	}
	hasReq := len(bytes.TrimSpace(q.InstanceRequirementsWithMetadata)) > 0 && string(bytes.TrimSpace(q.InstanceRequirementsWithMetadata)) != "null"
	if len(q.InstanceTypes) == 0 && !hasReq {
		return fmt.Errorf("needs InstanceTypes or InstanceRequirementsWithMetadata")
	}
	if len(q.InstanceTypes) > 0 && hasReq {
		return fmt.Errorf("InstanceTypes and InstanceRequirementsWithMetadata are exclusive")
	}
	for _, t := range q.InstanceTypes {
		if t == "" {
			return fmt.Errorf("an empty instance type in InstanceTypes")
		}
	}
	switch q.TargetCapacityUnitType {
	case "", "units", "vcpu", "memory-mib":
	default:
		return fmt.Errorf("TargetCapacityUnitType %q: expected units, vcpu or memory-mib", q.TargetCapacityUnitType)
	}
	return nil
}

// placementScoreRecord is one SpotPlacementScores element.
type placementScoreRecord struct {
	Region             string       `json:"Region"`
	AvailabilityZoneID string       `json:"AvailabilityZoneId"`
	Score              *json.Number `json:"Score"`
}

type placementAt struct {
	line, record int64
	rec          placementScoreRecord
	bad          string
}

// placementScores reads a bare GetSpotPlacementScores response
// {"SpotPlacementScores":[...],"NextToken":...} or the wrapper described
// at PlacementRequest. The scores are held until the request is known (a
// response has at most a few hundred). AvailabilityZoneId is a zone ID
// ("use1-az4"), which unlike a zone name means the same zone in every
// account; it is stored as the score's zone.
func (p *parser) placementScores(r io.Reader) error {
	d := newJSONDoc(p.name, r)
	var req *PlacementRequest
	var at time.Time
	var scores []placementAt
	seen := false
	readScores := func() error {
		seen = true
		return d.array("SpotPlacementScores", func() error {
			var s placementAt
			var err error
			s.line, s.bad, err = d.decodeRecord(&s.rec)
			if err != nil {
				return err
			}
			s.record = d.record
			scores = append(scores, s)
			return p.tick()
		})
	}
	err := d.object("document", func(key string) error {
		switch key {
		case "SpotPlacementScores":
			return readScores()
		case "NextToken":
			return d.skip()
		case "Request":
			req = new(PlacementRequest)
			_, bad, err := d.decodeRecord(req)
			if err != nil {
				return err
			}
			if bad != "" {
				return d.shapeErr("Request: %s", bad)
			}
			return nil
		case "Time":
			var s string
			line, bad, err := d.decodeRecord(&s)
			if err != nil {
				return err
			}
			if bad == "" {
				t, err := parseTimestamp([]byte(s))
				if err != nil {
					bad = err.Error()
				}
				at = t
			}
			if bad != "" {
				return p.rowErr(line, 0, "Time: %s", bad)
			}
			return nil
		case "Response":
			return d.object("Response", func(key string) error {
				switch key {
				case "SpotPlacementScores":
					return readScores()
				case "NextToken":
					return d.skip()
				}
				return d.shapeErr("Response: unexpected key %q", key)
			})
		}
		return d.shapeErr("unexpected key %q (expected SpotPlacementScores, or Request, Response and Time)", key)
	})
	if err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return err
	}
	if !seen {
		return d.shapeErr(`no "SpotPlacementScores" array`)
	}
	if req == nil {
		req = p.opts.Placement
	}
	if req == nil {
		return fmt.Errorf(`the request behind these scores is unknown: wrap the response as {"Request":{...},"Response":{...}} or give Options.Placement: %w`, ingest.ErrBadInput)
	}
	if err := req.check(); err != nil {
		return fmt.Errorf("placement request: %v: %w", err, ingest.ErrBadInput)
	}
	switch {
	case !at.IsZero():
	case !req.Time.IsZero():
		at = req.Time.UTC()
	case !p.opts.modTime.IsZero():
		at = p.opts.modTime.UTC().Truncate(time.Second)
		p.t.Note("scores dated %s: the file's modification time (the response carries no time)", at.Format(time.RFC3339))
	default:
		return fmt.Errorf("the time of these scores is unknown: give \"Time\" in the wrapper or Options.Placement.Time: %w", ingest.ErrBadInput)
	}
	unit := req.TargetCapacityUnitType
	if unit == "" {
		unit = "units"
	}
	var requirements string
	if len(req.InstanceRequirementsWithMetadata) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, req.InstanceRequirementsWithMetadata); err == nil {
			requirements = buf.String()
		}
	}
	for _, s := range scores {
		bad := s.bad
		var score int64
		if bad == "" {
			score, bad = checkScore(&s.rec)
		}
		if bad != "" {
			if err := p.row(s.line, s.record, bad); err != nil {
				return err
			}
			continue
		}
		if err := p.placement(market.PlacementScore{
			Region: s.rec.Region, Zone: s.rec.AvailabilityZoneID,
			InstanceTypes: req.InstanceTypes, Requirements: requirements,
			TargetCapacity: req.TargetCapacity, CapacityUnit: unit,
			Score: int(score), Time: at, Source: p.source, FetchedAt: p.fetched,
		}); err != nil {
			return err
		}
	}
	return nil
}

func checkScore(r *placementScoreRecord) (int64, string) {
	if !market.KnownRegion(market.AWS, r.Region) {
		return 0, fmt.Sprintf("unknown region %q", r.Region)
	}
	if r.Score == nil {
		return 0, "Score is missing"
	}
	s, err := r.Score.Int64()
	if err != nil || s < 1 || s > 10 {
		return 0, fmt.Sprintf("Score %s: expected an integer 1-10", r.Score)
	}
	return s, ""
}
