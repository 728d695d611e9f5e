package launch

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// SkyPilotInput asks for a SkyPilot task resources block.
type SkyPilotInput struct {
	Workload  recommend.Workload
	Placement recommend.PlacementResult
	// Clouds allowed (default: aws, gcp, azure, the clouds spotcast
	// prices); SkyPilot fails over across all of them.
	Clouds []string
	Selection
}

// SkyPilotCandidate is one entry of resources.ordered.
type SkyPilotCandidate struct {
	Cloud        string `json:"cloud" yaml:"cloud"`
	Region       string `json:"region" yaml:"region"`
	Zone         string `json:"zone,omitempty" yaml:"zone,omitempty"`
	InstanceType string `json:"instance_type" yaml:"instance_type"`
}

// SkyPilotResources is a task's resources section: spot only, the
// candidates in the order SkyPilot should try them.
type SkyPilotResources struct {
	UseSpot bool                `json:"use_spot" yaml:"use_spot"`
	Ordered []SkyPilotCandidate `json:"ordered" yaml:"ordered"`
}

// SkyPilotTask is the part of a task YAML spotcast fills.
type SkyPilotTask struct {
	NumNodes  int               `json:"num_nodes,omitempty" yaml:"num_nodes,omitempty"`
	Resources SkyPilotResources `json:"resources" yaml:"resources"`
}

// SkyPilotResult is the task fragment and the expected cost of each
// candidate, in the same order.
type SkyPilotResult struct {
	Task    SkyPilotTask          `json:"task"`
	Pools   []recommend.PoolRank  `json:"pools"`
	Explain recommend.Explanation `json:"explain"`
}

// skyPilotClouds maps spotcast's cloud names to SkyPilot's.
var skyPilotClouds = map[string]string{market.AWS: "aws", market.GCP: "gcp", market.Azure: "azure"}

// SkyPilot writes the resources section of a SkyPilot task: use_spot and
// the ranked pools of every allowed cloud as `ordered` candidates, best
// expected cost per useful GPU-hour first, each with cloud, region, zone
// and instance type. SkyPilot provisions the first candidate it can get
// and, with managed jobs, recovers from a preemption by walking the same
// list, so the order carries spotcast's forecast into its failover.
// num_nodes is set for multi-node jobs.
func SkyPilot(in SkyPilotInput) (SkyPilotResult, error) {
	clouds := in.Clouds
	if len(clouds) == 0 {
		clouds = []string{market.AWS, market.GCP, market.Azure}
	}
	for _, c := range clouds {
		if _, ok := skyPilotClouds[strings.ToLower(c)]; !ok {
			return SkyPilotResult{}, &recommend.ParamError{Param: "cloud", Err: ErrUnsupportedCloud,
				Msg: fmt.Sprintf("spotcast writes SkyPilot candidates for aws, gcp and azure, not %q", c)}
		}
	}
	pk, err := selectPools("SkyPilot", in.Placement, in.Selection, clouds, false)
	if err != nil {
		return SkyPilotResult{}, err
	}
	res := SkyPilotResult{Task: SkyPilotTask{Resources: SkyPilotResources{UseSpot: true}}, Pools: pk.pools}
	if n := max(in.Workload.Nodes, 1); n > 1 {
		// num_nodes is one number for every candidate: keep those whose
		// instances carry as many nodes as the best pool's.
		g := max(in.Workload.GPUsPerNode, 1)
		want := usefulPerInstance(pk.pools[0], g)
		kept := pk.pools[:0:0]
		var dropped []string
		for _, r := range pk.pools {
			if usefulPerInstance(r, g) == want {
				kept = append(kept, r)
			} else {
				dropped = append(dropped, r.Pool.String())
			}
		}
		pk.pools = kept
		res.Pools = kept
		res.Task.NumNodes = pk.pools[0].Instances
		if len(dropped) > 0 {
			pk.notes = append(pk.notes, fmt.Sprintf("num_nodes = %d instances of %d useful GPUs: %d candidates with other instance sizes are left out (%s)", res.Task.NumNodes, want, len(dropped), short(dropped)))
		}
	}
	for _, r := range pk.pools {
		c := SkyPilotCandidate{Cloud: skyPilotClouds[r.Pool.Cloud], Region: r.Pool.Region, InstanceType: r.InstanceType}
		if r.Pool.Cloud != market.Azure { // Azure zones are numbers SkyPilot maps itself
			c.Zone = r.Pool.Zone
		}
		res.Task.Resources.Ordered = append(res.Task.Resources.Ordered, c)
	}
	res.Explain = recommend.Explanation{
		Inputs:  map[string]any{"clouds": clouds, "pools": len(pk.pools), "max_pools": in.Selection.MaxPools, "max_premium": in.Selection.MaxPremium},
		Formula: "resources.ordered = the ranked pools of the allowed clouds, best expected cost per useful GPU-hour first",
		Notes:   append(pk.notes, "SkyPilot's spot recovery walks the ordered list after a preemption; set job_recovery in the task to choose the strategy"),
	}
	return res, nil
}

// YAML renders the task fragment, with each candidate's expected cost as
// a comment, to paste into a SkyPilot task YAML.
func (r SkyPilotResult) YAML() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(r.Task); err != nil {
		return nil, fmt.Errorf("skypilot yaml: %w", err)
	}
	// Annotate each ordered entry with its expected cost.
	if res := mapValue(&doc, "resources"); res != nil {
		if ord := mapValue(res, "ordered"); ord != nil {
			for i, n := range ord.Content {
				if i < len(r.Pools) {
					n.HeadComment = "expected " + strconv.FormatFloat(r.Pools[i].CostPerUsefulGPUHr, 'f', 4, 64) + " USD per useful GPU-hour"
				}
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("# SkyPilot task resources from spotcast: spot candidates, best expected cost per useful GPU-hour first.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("skypilot yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("skypilot yaml: %w", err)
	}
	return b.Bytes(), nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
