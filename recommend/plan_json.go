package recommend

import (
	"encoding/json"
	"time"
)

// planPoolJSON is PlanPool as JSON: the mean outage in seconds, like every
// duration in spotcast's JSON.
type planPoolJSON struct {
	planPoolFields
	MeanOutage float64 `json:"mean_outage_seconds,omitempty"`
}

// planPoolFields is PlanPool without its methods (so encoding it does not
// recurse); its MeanOutage is shadowed by planPoolJSON's.
type planPoolFields PlanPool

// MarshalJSON writes MeanOutage in seconds.
func (p PlanPool) MarshalJSON() ([]byte, error) {
	return json.Marshal(planPoolJSON{planPoolFields(p), p.MeanOutage.Seconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *PlanPool) UnmarshalJSON(b []byte) error {
	var v planPoolJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = PlanPool(v.planPoolFields)
	p.MeanOutage = time.Duration(v.MeanOutage * float64(time.Second))
	return nil
}
