package launch_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spotcast/spotcast/launch"
	"github.com/spotcast/spotcast/recommend"
)

// TestKarpenterManifestsValidate checks every manifest against Karpenter's
// published CRDs: the OpenAPI v3 schema and the CEL rules they declare.
func TestKarpenterManifestsValidate(t *testing.T) {
	crds := karpenterCRDs(t)
	pools := newCRDValidator(t, filepath.Join(crds, "karpenter.sh_nodepools.yaml"), "v1")
	overlays := newCRDValidator(t, filepath.Join(crds, "karpenter.sh_nodeoverlays.yaml"), "v1alpha1")

	w := workload()
	p := placement(t, w, candidates())
	res, err := launch.Karpenter(launch.KarpenterInput{Workload: w, Placement: p})
	if err != nil {
		t.Fatal(err)
	}
	y, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	docs := yamlDocs(t, y)
	if len(docs) != 4 {
		t.Fatalf("%d documents, want 2 NodePools and 2 NodeOverlays:\n%s", len(docs), y)
	}
	for i, d := range docs {
		v := pools
		if d["kind"] == "NodeOverlay" {
			v = overlays
		}
		if errs := v.Validate(d); len(errs) > 0 {
			t.Errorf("document %d (%s %v) is invalid:\n%s", i, d["kind"], d["metadata"], strings.Join(errs, "\n"))
		}
	}
	// The CEL rules were applied, and only the transition rules (oldSelf:
	// updates of an existing object) skipped.
	for _, v := range []*crdValidator{pools, overlays} {
		if n := len(v.Evaluated()); n < 3 {
			t.Errorf("only %d CEL rules evaluated", n)
		}
		for _, r := range v.Skipped() {
			if !strings.Contains(r, "oldSelf") {
				t.Errorf("skipped rule %q", r)
			}
		}
	}

	// Karpenter tries higher weights first: the type with the best
	// expected cost per useful GPU-hour (p3.8xlarge in us-west-2c) leads.
	np := res.NodePools
	if np[0].Spec.Template.Spec.Requirements[0].Values[0] != "p3.8xlarge" || np[0].Spec.Weight <= np[1].Spec.Weight {
		t.Errorf("weights %d (%v), %d (%v)", np[0].Spec.Weight, np[0].Spec.Template.Spec.Requirements[0].Values, np[1].Spec.Weight, np[1].Spec.Template.Spec.Requirements[0].Values)
	}
	for _, n := range np {
		r := n.Spec.Template.Spec.Requirements
		if r[2].Key != launch.LabelCapacityType || !slices.Equal(r[2].Values, []string{"spot"}) {
			t.Errorf("%s is not spot-only: %+v", n.Metadata.Name, r)
		}
	}
	if got := np[1].Spec.Limits[launch.ResourceGPU]; got != "4" {
		t.Errorf("GPU limit of the 1-GPU type %q, want 4 (four nodes)", got)
	}
	for i, ov := range res.NodeOverlays {
		if want := fmt.Sprintf("+%.2f%%", 100*p.Ranked[i].OverheadRatio); ov.Spec.PriceAdjustment != want {
			t.Errorf("overlay %s adjusts %s, want %s", ov.Metadata.Name, ov.Spec.PriceAdjustment, want)
		}
	}

	// The validators do reject what Karpenter's API server rejects.
	bad := []struct {
		name string
		v    *crdValidator
		doc  int
		edit func(d map[string]any)
	}{
		{"weight above 100", pools, 0, func(d map[string]any) { spec(d)["weight"] = jsonValue(t, 101) }},
		{"unknown field", pools, 0, func(d map[string]any) { spec(d)["wieght"] = jsonValue(t, 1) }},
		{"restricted label domain (CEL)", pools, 0, func(d map[string]any) {
			tmpl := spec(d)["template"].(map[string]any)["spec"].(map[string]any)
			tmpl["requirements"].([]any)[0].(map[string]any)["key"] = "karpenter.sh/anything"
		}},
		{"price and priceAdjustment together (CEL)", overlays, 2, func(d map[string]any) { spec(d)["price"] = "1.5" }},
		{"priceAdjustment pattern", overlays, 2, func(d map[string]any) { spec(d)["priceAdjustment"] = "+ten%" }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			d := yamlDocs(t, y)[tc.doc]
			tc.edit(d)
			if errs := tc.v.Validate(d); len(errs) == 0 {
				t.Error("accepted")
			}
		})
	}
}

func spec(d map[string]any) map[string]any { return d["spec"].(map[string]any) }

func TestKarpenterBadInput(t *testing.T) {
	w := workload()
	gcpOnly := placement(t, w, candidates()[4:])
	for _, tc := range []struct {
		name  string
		in    launch.KarpenterInput
		param string
	}{
		{"gcp", launch.KarpenterInput{Workload: w, Placement: gcpOnly}, "cloud"},
		{"bad node class", launch.KarpenterInput{Workload: w, Placement: placement(t, w, candidates()), NodeClass: "My_Class"}, "node_class"},
		{"empty placement", launch.KarpenterInput{Workload: w}, "workload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := launch.Karpenter(tc.in)
			var pe *recommend.ParamError
			if !errors.As(err, &pe) || pe.Param != tc.param {
				t.Fatalf("got %v, want a %q error", err, tc.param)
			}
			if len(res.NodePools)+len(res.NodeOverlays) != 0 {
				t.Error("manifests came with the error")
			}
		})
	}
	_, err := launch.Karpenter(launch.KarpenterInput{Workload: w, Placement: gcpOnly})
	if !errors.Is(err, launch.ErrUnsupportedCloud) {
		t.Errorf("gcp placement: %v", err)
	}
}
