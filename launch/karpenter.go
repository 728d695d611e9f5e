package launch

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

// Karpenter API versions and the well-known labels the manifests select on.
const (
	KarpenterAPIVersion        = "karpenter.sh/v1"
	KarpenterOverlayAPIVersion = "karpenter.sh/v1alpha1"
	LabelInstanceType          = "node.kubernetes.io/instance-type"
	LabelZone                  = "topology.kubernetes.io/zone"
	LabelCapacityType          = "karpenter.sh/capacity-type"
	// ResourceGPU is the extended resource NVIDIA's device plugin
	// advertises; NodePool limits bound it.
	ResourceGPU = "nvidia.com/gpu"
	// DefaultNodeClass is the EC2NodeClass the NodePools refer to when
	// the caller names none.
	DefaultNodeClass = "default"
	// OverlayWeight ranks spotcast's NodeOverlays above overlays of lower
	// weight a cluster may have for the same instance types.
	OverlayWeight = 100
)

// KarpenterInput asks for NodePool and NodeOverlay manifests.
type KarpenterInput struct {
	Workload  recommend.Workload
	Placement recommend.PlacementResult
	// NodeClass: the EC2NodeClass (karpenter.k8s.aws) to launch with.
	NodeClass string
	// Name prefixes every object's name ("" = "spotcast").
	Name string
	Selection
}

// ObjectMeta is the part of Kubernetes object metadata the manifests set.
type ObjectMeta struct {
	Name        string            `json:"name" yaml:"name"`
	Labels      map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// Requirement is a node selector requirement.
type Requirement struct {
	Key      string   `json:"key" yaml:"key"`
	Operator string   `json:"operator" yaml:"operator"`
	Values   []string `json:"values,omitempty" yaml:"values,omitempty"`
}

// NodePool is a karpenter.sh/v1 NodePool.
type NodePool struct {
	APIVersion string       `json:"apiVersion" yaml:"apiVersion"`
	Kind       string       `json:"kind" yaml:"kind"`
	Metadata   ObjectMeta   `json:"metadata" yaml:"metadata"`
	Spec       NodePoolSpec `json:"spec" yaml:"spec"`
}

// NodePoolSpec is a NodePool's spec.
type NodePoolSpec struct {
	Template   NodeClaimTemplate `json:"template" yaml:"template"`
	Disruption Disruption        `json:"disruption" yaml:"disruption"`
	Limits     map[string]string `json:"limits,omitempty" yaml:"limits,omitempty"`
	Weight     int               `json:"weight" yaml:"weight"`
}

// NodeClaimTemplate is spec.template.
type NodeClaimTemplate struct {
	Spec NodeClaimSpec `json:"spec" yaml:"spec"`
}

// NodeClaimSpec is spec.template.spec.
type NodeClaimSpec struct {
	NodeClassRef NodeClassRef  `json:"nodeClassRef" yaml:"nodeClassRef"`
	Requirements []Requirement `json:"requirements" yaml:"requirements"`
}

// NodeClassRef points at the cloud provider's node class.
type NodeClassRef struct {
	Group string `json:"group" yaml:"group"`
	Kind  string `json:"kind" yaml:"kind"`
	Name  string `json:"name" yaml:"name"`
}

// Disruption is spec.disruption.
type Disruption struct {
	ConsolidationPolicy string   `json:"consolidationPolicy" yaml:"consolidationPolicy"`
	ConsolidateAfter    string   `json:"consolidateAfter" yaml:"consolidateAfter"`
	Budgets             []Budget `json:"budgets" yaml:"budgets"`
}

// Budget is one disruption budget.
type Budget struct {
	Nodes   string   `json:"nodes" yaml:"nodes"`
	Reasons []string `json:"reasons,omitempty" yaml:"reasons,omitempty"`
}

// NodeOverlay is a karpenter.sh/v1alpha1 NodeOverlay.
type NodeOverlay struct {
	APIVersion string          `json:"apiVersion" yaml:"apiVersion"`
	Kind       string          `json:"kind" yaml:"kind"`
	Metadata   ObjectMeta      `json:"metadata" yaml:"metadata"`
	Spec       NodeOverlaySpec `json:"spec" yaml:"spec"`
}

// NodeOverlaySpec is a NodeOverlay's spec.
type NodeOverlaySpec struct {
	Requirements    []Requirement `json:"requirements" yaml:"requirements"`
	PriceAdjustment string        `json:"priceAdjustment,omitempty" yaml:"priceAdjustment,omitempty"`
	Weight          int           `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// KarpenterResult holds the manifests, NodePools first, best first.
type KarpenterResult struct {
	Region       string                `json:"region"`
	NodePools    []NodePool            `json:"node_pools"`
	NodeOverlays []NodeOverlay         `json:"node_overlays"`
	Explain      recommend.Explanation `json:"explain"`
}

// Karpenter writes one NodePool per instance type among the workload's
// ranked AWS pools of one region (a cluster is regional), limited to the
// zones where that type ranked, on spot capacity only. Weights order the
// NodePools by the best expected cost per useful GPU-hour of their pools
// (Karpenter tries higher weights first). One NodeOverlay per pool
// raises the price Karpenter sees for that type in that zone by the
// forecast interruption overhead (priceAdjustment +x%), so that its own
// price-led choice between zones and types weighs the live spot price
// times (1 + overhead): spotcast's expected cost per unit of useful work
// rather than the list price.
//
// Each NodePool's disruption: consolidate only empty nodes (moving a
// running training pod loses its work since the last checkpoint), no
// replacement of drifted nodes (re-applying new manifests must not roll
// running nodes), and at most 10% of nodes disrupted at once otherwise;
// its GPU limit is what the workload needs on that type.
func Karpenter(in KarpenterInput) (KarpenterResult, error) {
	if err := checkName("name", in.Name); err != nil {
		return KarpenterResult{}, err
	}
	if err := checkName("node_class", in.NodeClass); err != nil {
		return KarpenterResult{}, err
	}
	pk, err := selectPools("Karpenter", in.Placement, in.Selection, []string{market.AWS}, true)
	if err != nil {
		return KarpenterResult{}, err
	}
	for _, r := range pk.pools {
		if r.Pool.Zone == "" {
			return KarpenterResult{}, &recommend.ParamError{Param: "placement", Msg: fmt.Sprintf("pool %s has no zone: NodePools select zones (rank per-zone pools)", r.Pool)}
		}
	}
	prefix := in.Name
	if prefix == "" {
		prefix = "spotcast"
	}
	class := in.NodeClass
	if class == "" {
		class = DefaultNodeClass
	}
	g := max(in.Workload.GPUsPerNode, 1)
	nodes := max(in.Workload.Nodes, 1)

	// Group by type, in order of each type's best pool.
	type tier struct {
		typ   string
		best  recommend.PoolRank
		zones []string
	}
	var tiers []*tier
	byType := map[string]*tier{}
	for _, r := range pk.pools {
		t, ok := byType[r.InstanceType]
		if !ok {
			t = &tier{typ: r.InstanceType, best: r}
			byType[r.InstanceType] = t
			tiers = append(tiers, t)
		}
		t.zones = append(t.zones, r.Pool.Zone)
	}
	res := KarpenterResult{Region: pk.region}
	step := 1
	if len(tiers) > 1 {
		step = max(1, min(10, 99/(len(tiers)-1)))
	}
	for i, t := range tiers {
		sort.Strings(t.zones)
		per := usefulPerInstance(t.best, g)
		instances := (g*nodes + per - 1) / per
		np := NodePool{
			APIVersion: KarpenterAPIVersion, Kind: "NodePool",
			Metadata: ObjectMeta{Name: objectName(prefix, t.typ), Annotations: map[string]string{
				"spotcast.io/rank":                     strconv.Itoa(i + 1),
				"spotcast.io/cost-per-useful-gpu-hour": strconv.FormatFloat(t.best.CostPerUsefulGPUHr, 'f', 4, 64),
				"spotcast.io/best-pool":                t.best.Pool.String(),
			}},
			Spec: NodePoolSpec{
				Template: NodeClaimTemplate{Spec: NodeClaimSpec{
					NodeClassRef: NodeClassRef{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: class},
					Requirements: []Requirement{
						{Key: LabelInstanceType, Operator: "In", Values: []string{t.typ}},
						{Key: LabelZone, Operator: "In", Values: t.zones},
						{Key: LabelCapacityType, Operator: "In", Values: []string{"spot"}},
					},
				}},
				Disruption: Disruption{ConsolidationPolicy: "WhenEmpty", ConsolidateAfter: "5m",
					Budgets: []Budget{{Nodes: "0", Reasons: []string{"Drifted"}}, {Nodes: "10%"}}},
				Limits: map[string]string{ResourceGPU: strconv.Itoa(instances * t.best.GPUsPerInstance)},
				Weight: max(1, 100-i*step),
			},
		}
		if src := t.best.Source; src != "" {
			np.Metadata.Annotations["spotcast.io/source"] = src
		}
		res.NodePools = append(res.NodePools, np)
	}
	for _, r := range pk.pools {
		ov := NodeOverlay{
			APIVersion: KarpenterOverlayAPIVersion, Kind: "NodeOverlay",
			Metadata: ObjectMeta{Name: objectName(prefix, r.InstanceType+"-"+r.Pool.Zone), Annotations: map[string]string{
				"spotcast.io/expected-overhead-ratio":  strconv.FormatFloat(r.OverheadRatio, 'f', 4, 64),
				"spotcast.io/hazard-per-instance-hour": strconv.FormatFloat(r.HazardPerHour, 'f', 5, 64),
			}},
			Spec: NodeOverlaySpec{
				Requirements: []Requirement{
					{Key: LabelInstanceType, Operator: "In", Values: []string{r.InstanceType}},
					{Key: LabelZone, Operator: "In", Values: []string{r.Pool.Zone}},
					{Key: LabelCapacityType, Operator: "In", Values: []string{"spot"}},
				},
				PriceAdjustment: fmt.Sprintf("+%.2f%%", 100*r.OverheadRatio),
				Weight:          OverlayWeight,
			},
		}
		res.NodeOverlays = append(res.NodeOverlays, ov)
	}
	notes := append(pk.notes,
		"NodeOverlay is alpha in Karpenter (karpenter.sh/v1alpha1, from v1.7): enable the NodeOverlay feature gate, or apply the NodePools alone",
		fmt.Sprintf("the NodePools launch with the EC2NodeClass %q (AMI, subnets, security groups): create it or pass your own", class))
	res.Explain = recommend.Explanation{
		Inputs:  map[string]any{"region": pk.region, "pools": len(pk.pools), "node_pools": len(tiers), "gpus_per_node": g, "nodes": nodes, "node_class": class},
		Formula: "one NodePool per instance type over the zones where it ranked, weight 100 for the type with the best expected cost per useful GPU-hour and lower for the next; one NodeOverlay per pool with priceAdjustment = +100 x expected overhead ratio %",
		Notes:   notes,
	}
	return res, nil
}

// YAML renders the manifests as one multi-document YAML stream, NodePools
// first, for kubectl apply -f.
func (r KarpenterResult) YAML() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Karpenter NodePools and NodeOverlays for %d pools in %s, best expected cost per useful GPU-hour first (spotcast).\n", len(r.NodeOverlays), r.Region)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, np := range r.NodePools {
		if err := enc.Encode(np); err != nil {
			return nil, fmt.Errorf("karpenter yaml: %w", err)
		}
	}
	for _, ov := range r.NodeOverlays {
		if err := enc.Encode(ov); err != nil {
			return nil, fmt.Errorf("karpenter yaml: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("karpenter yaml: %w", err)
	}
	return b.Bytes(), nil
}

// objectName makes a Kubernetes object name (a DNS subdomain: lower case
// letters, digits, '-' and '.') from a prefix and a pool.
func objectName(prefix, s string) string {
	n := strings.ToLower(prefix + "-" + s)
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, n)
	return strings.Trim(n, "-.")
}

func checkName(param, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 200 || objectName("x", s) != "x-"+s {
		return &recommend.ParamError{Param: param, Msg: fmt.Sprintf("%q is not a Kubernetes object name (lower-case letters, digits, '-' and '.', at most 200)", s)}
	}
	return nil
}
