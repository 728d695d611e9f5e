package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spotcast/spotcast/forecast/hazard"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
	"github.com/spotcast/spotcast/storage"
)

// CloudAny, as a placement's cloud, ranks the pools of every cloud
// together.
const CloudAny = "any"

// cloudMatch says whether a pool of cloud is a candidate of a request for
// want (CloudAny: every cloud).
func cloudMatch(want, cloud string) bool { return want == CloudAny || want == cloud }

// productMatch says whether a pool of product is a candidate of a request
// for want: the same product, or for want "" the default one.
func productMatch(want, product string) bool {
	if want != "" {
		return product == want
	}
	return defaultProduct(product)
}

// defaultProduct: the product a placement takes when none is asked for is
// Linux on every cloud (AWS's Linux/UNIX, Azure's Linux) or none at all (a
// pool whose prices do not split by OS: GCP's, AWS's daily series). A
// filter on "Linux/UNIX" alone would silently leave out every cloud but
// AWS.
func defaultProduct(product string) bool {
	switch product {
	case "", "Linux/UNIX", "Linux":
		return true
	}
	return false
}

// Inputs of a pool's ranking (recommend.InputSource.Input).
const (
	InputSpotPrice         = "spot_price"
	InputInterruptionPrior = "interruption_prior"
	InputOnDemandPrice     = "on_demand_price"
	InputGPUType           = "gpu_type"
	InputNoticeWindow      = "notice_window"
)

// candidateInputs says where each input of a placement candidate came
// from: its spot price (the series' source and newest point), the prior of
// its interruption forecast, its on-demand price, its GPU type and its
// notice window.
func candidateInputs(p storage.PoolInfo, pf PriceForecastResponse, hf *hazard.Forecast, od market.OnDemandPrice, notice time.Duration, noticeAsked bool) []recommend.InputSource {
	price := recommend.InputSource{Input: InputSpotPrice, Source: pf.Source, Time: pf.DataUntil,
		Detail: fmt.Sprintf("%s series, forecast %s", resolutionName(p.Resolution), pf.Model)}
	if price.Time.IsZero() {
		price.Time = p.Last
	}
	prior := recommend.InputSource{Input: InputInterruptionPrior, Source: "none", Detail: "no interruption forecast"}
	if hf != nil {
		prior = recommend.InputSource{Input: InputInterruptionPrior, Source: hf.PriorSource, Time: hf.PriorTime, Detail: hf.Prior}
		if prior.Source == "" {
			// A forecast persisted before priors named their sources.
			prior.Source = "unrecorded"
		}
	}
	ond := recommend.InputSource{Input: InputOnDemandPrice, Source: "none", Detail: "no on-demand price stored for the type in the region"}
	if od.Price > 0 {
		ond = recommend.InputSource{Input: InputOnDemandPrice, Source: od.Source, Time: od.Date,
			Detail: fmt.Sprintf("%.4g USD/h %s %s", od.Price, od.Region, od.InstanceType)}
		if od.Date.IsZero() {
			ond.Detail += persistedOnDemand
		}
	}
	gpu := recommend.InputSource{Input: InputGPUType, Source: p.Type.Source,
		Detail: fmt.Sprintf("%d x %s %g GiB", p.Type.GPUCount, p.Type.GPUModel, p.Type.GPUMemoryGiB)}
	nw := recommend.InputSource{Input: InputNoticeWindow, Source: "request", Detail: notice.String()}
	if !noticeAsked {
		nw.Source = "builtin:" + cloudOrAWS(p.Cloud) + "-notice"
		nw.Detail = fmt.Sprintf("%s, %s's interruption notice", notice, cloudOrAWS(p.Cloud))
	}
	return []recommend.InputSource{price, prior, ond, gpu, nw}
}

// persistedOnDemand marks an on-demand input taken from a persisted
// forecast, which keeps the price and its source but not its date.
const persistedOnDemand = " (as the persisted forecast read it)"

// datePersistedOnDemand dates the candidates' on-demand inputs taken from
// persisted forecasts: the store's price in effect at at, read for every
// such candidate's type in one query, where it is the price and source
// the forecast used (else the input stays undated, said in its detail).
func (e *Engine) datePersistedOnDemand(ctx context.Context, cands []recommend.PoolCandidate, at time.Time) error {
	undated := func(in recommend.InputSource) bool {
		return in.Input == InputOnDemandPrice && in.Time.IsZero() && strings.HasSuffix(in.Detail, persistedOnDemand)
	}
	seen := map[string]bool{}
	var types []string
	for _, c := range cands {
		for _, in := range c.Inputs {
			if undated(in) && !seen[c.Pool.InstanceType] {
				seen[c.Pool.InstanceType] = true
				types = append(types, c.Pool.InstanceType)
			}
		}
	}
	if len(types) == 0 {
		return nil
	}
	ods, err := e.store.OnDemandOf(ctx, types, at)
	if err != nil {
		return err
	}
	stored := &hazardBulk{od: map[[3]string][]market.OnDemandPrice{}}
	for _, o := range ods {
		k := [3]string{o.Cloud, o.Region, o.InstanceType}
		stored.od[k] = append(stored.od[k], o)
	}
	for i := range cands {
		c := &cands[i]
		for j := range c.Inputs {
			in := &c.Inputs[j]
			if !undated(*in) {
				continue
			}
			if o := stored.onDemand(c.Pool.Cloud, c.Pool.Region, c.Pool.InstanceType, c.Pool.Product); o.Price == c.OnDemand && o.Source == in.Source {
				in.Time = o.Date
				in.Detail = strings.TrimSuffix(in.Detail, persistedOnDemand)
			}
		}
	}
	return nil
}

func cloudOrAWS(cloud string) string {
	if cloud == "" {
		return market.AWS
	}
	return cloud
}

func resolutionName(r string) string {
	if r == market.ResolutionDaily {
		return "daily"
	}
	return "price-change"
}
