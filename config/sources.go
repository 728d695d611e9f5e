package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/spotcast/spotcast/market"
)

// Sources configures the public price APIs that serve polls: no
// credentials needed, each on its own schedule, each failure its own.
type Sources struct {
	// AWSFeed is the public AWS spot price feed (region-level Linux and
	// Windows prices, refreshed hourly by AWS): on, hourly, by default.
	AWSFeed Feed `yaml:"aws_feed"`
	// Azure is the Azure Retail Prices API (spot and on-demand VM
	// prices): off by default (every region is a few hundred pages),
	// daily when enabled.
	Azure Feed `yaml:"azure"`
}

// Feed is one polled source.
type Feed struct {
	Enabled bool     `yaml:"enabled"`
	Every   Duration `yaml:"every"`
	// URL overrides the API's public address (a mirror, a test server).
	URL string `yaml:"url"`
	// Regions limits Azure's regions (armRegionName; empty: every region
	// spotcast knows). The AWS feed has every region in one document.
	Regions []string `yaml:"regions"`
}

// minFeedEvery keeps a typo ("1s") from hammering a public API.
const minFeedEvery = time.Minute

// Validate checks the sources section.
func (s Sources) Validate() error {
	for _, f := range []struct {
		name string
		feed Feed
	}{{"aws_feed", s.AWSFeed}, {"azure", s.Azure}} {
		if f.feed.Enabled && time.Duration(f.feed.Every) < minFeedEvery {
			return fmt.Errorf("sources.%s.every: %s is under %s; the public APIs refresh hourly at most", f.name, time.Duration(f.feed.Every), minFeedEvery)
		}
	}
	if len(s.AWSFeed.Regions) > 0 {
		return errors.New("sources.aws_feed.regions: the feed is one document for every region; filter with the queries instead")
	}
	for i, r := range s.Azure.Regions {
		if !market.KnownRegion(market.Azure, r) {
			return fmt.Errorf("sources.azure.regions[%d]: %q is not an Azure region (armRegionName, e.g. eastus)", i, r)
		}
	}
	return nil
}
