package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// awsSignals reads an AWS pool's advisor row and placement score into in.
// Placement scores of GetSpotPlacementScores name the zone by its ID
// (use1-az4), pools by its name (us-east-1a): both are read as the ID
// where the stored zone IDs pair them one to one.
func (b *HazardBatch) awsSignals(ctx context.Context, key market.PoolKey, region string, in *hazard.Inputs) error {
	if b.bulk != nil {
		in.Advisor = b.bulk.advisor(region, hazard.AdvisorOS(key.Product), key.InstanceType)
	} else {
		adv, err := b.store.Advisor(ctx, region, hazard.AdvisorOS(key.Product), key.InstanceType, b.now)
		switch {
		case err == nil:
			in.Advisor = &adv
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
	}
	sk := [2]string{region, key.InstanceType}
	scores, ok := b.scores[sk]
	if !ok && b.bulk == nil {
		var err error
		if scores, err = b.store.PlacementScores(ctx, region, key.InstanceType); err != nil {
			return err
		}
		b.scores[sk] = scores
	}
	zones, err := b.zoneNames(ctx, key.Cloud, region)
	if err != nil {
		return err
	}
	zone := key.Zone
	if len(zones) > 0 && len(scores) > 0 {
		zone = zones.id(key.Zone)
		scores = zones.scoresByID(scores)
	}
	if sc := hazard.PickScore(scores, zone, b.now); sc != nil {
		s := *sc
		in.Score = &s
	}
	return nil
}

// cloudSignals are the capacity signals of a cloud's region at or before
// the batch's instant.
func (b *HazardBatch) cloudSignals(ctx context.Context, cloud, region string) ([]market.CapacitySignal, error) {
	k := [2]string{cloud, region}
	if s, ok := b.signals[k]; ok || b.bulk != nil {
		return s, nil
	}
	s, err := b.store.CapacitySignals(ctx, storage.SignalFilter{Cloud: cloud, Region: region, At: b.now})
	if err != nil {
		return nil, err
	}
	b.signals[k] = s
	return s, nil
}

// poolSignals keeps the signals about the pool's instance type (Azure
// spells a size's case differently in its APIs: compared without case)
// and OS (a signal without one speaks for every OS).
func poolSignals(sigs []market.CapacitySignal, key market.PoolKey) []market.CapacitySignal {
	os := hazard.AdvisorOS(key.Product)
	var out []market.CapacitySignal
	for _, s := range sigs {
		if strings.EqualFold(s.InstanceType, key.InstanceType) && (s.OS == "" || os == "" || strings.EqualFold(s.OS, os)) {
			out = append(out, s)
		}
	}
	return out
}

// zoneNames are a region's stored zone name/ID pairs.
type zoneNames []market.ZoneID

func (b *HazardBatch) zoneNames(ctx context.Context, cloud, region string) (zoneNames, error) {
	k := [2]string{cloud, region}
	if z, ok := b.zones[k]; ok || b.bulk != nil {
		return z, nil
	}
	z, err := b.store.ZoneIDs(ctx, cloud, region)
	if err != nil {
		return nil, err
	}
	b.zones[k] = z
	return z, nil
}

// id is the zone ID of a zone name paired with exactly one ID (a name two
// accounts map to different IDs is ambiguous: left as it is), or zone
// itself (an ID already, an unknown name, or "").
func (zs zoneNames) id(zone string) string {
	if zone == "" {
		return ""
	}
	out := ""
	for _, z := range zs {
		if z.Zone != zone {
			continue
		}
		if out != "" && out != z.ZoneID {
			return zone
		}
		out = z.ZoneID
	}
	if out == "" {
		return zone
	}
	return out
}

// scoresByID returns scores with every zone written as its ID (a copy
// when any changes).
func (zs zoneNames) scoresByID(scores []market.PlacementScore) []market.PlacementScore {
	var out []market.PlacementScore
	for i, s := range scores {
		id := zs.id(s.Zone)
		if id == s.Zone {
			continue
		}
		if out == nil {
			out = append([]market.PlacementScore(nil), scores...)
		}
		out[i].Zone = id
	}
	if out == nil {
		return scores
	}
	return out
}
