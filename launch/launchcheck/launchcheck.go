// Package launchcheck validates launch documents against the real schemas
// of the tools that read them: Karpenter's published CRDs (OpenAPI v3 and
// their CEL rules) and SkyPilot's task resources schema. Tests of every
// layer that writes a launch document (package launch, the CLI, the HTTP
// and gRPC APIs) share it.
package launchcheck

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Karpenter's published CRDs come from its Go module, which ships them in
// pkg/apis/crds. v1.14.1 is the newest release the Go proxy serves that
// builds with this project's Go (v1.14.3 and v1.15.0 ask for a newer Go);
// it has karpenter.sh/v1 NodePool and karpenter.sh/v1alpha1 NodeOverlay.
// .ci/run downloads it into the module cache; the project does not import it.
const (
	KarpenterModule  = "sigs.k8s.io/karpenter"
	KarpenterVersion = "v1.14.1"
)

// KarpenterCRDs returns the directory of Karpenter's CRD YAML files,
// downloading the module into the module cache if it is not there.
func KarpenterCRDs() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), KarpenterModule+"@"+KarpenterVersion)
	if _, err := os.Stat(filepath.Join(dir, "pkg", "apis", "crds")); err != nil {
		tmp, err := os.MkdirTemp("", "karpenter-crds")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "mod", "download", "-json", KarpenterModule+"@"+KarpenterVersion)
		cmd.Dir = tmp // outside the project: its go.mod stays as it is
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		var info struct{ Dir, Error string }
		if jerr := json.Unmarshal(b, &info); err != nil || jerr != nil || info.Dir == "" {
			return "", fmt.Errorf("karpenter CRDs: go mod download %s@%s: %v %s %s", KarpenterModule, KarpenterVersion, err, info.Error, stderr.String())
		}
		dir = info.Dir
	}
	return filepath.Join(dir, "pkg", "apis", "crds"), nil
}

// Karpenter validates NodePool and NodeOverlay manifests against the CRDs.
type Karpenter struct {
	NodePools, NodeOverlays *CRDValidator
}

// NewKarpenter loads the NodePool (v1) and NodeOverlay (v1alpha1) CRDs.
func NewKarpenter() (*Karpenter, error) {
	crds, err := KarpenterCRDs()
	if err != nil {
		return nil, err
	}
	np, err := NewCRDValidator(filepath.Join(crds, "karpenter.sh_nodepools.yaml"), "v1")
	if err != nil {
		return nil, err
	}
	ov, err := NewCRDValidator(filepath.Join(crds, "karpenter.sh_nodeoverlays.yaml"), "v1alpha1")
	if err != nil {
		return nil, err
	}
	return &Karpenter{NodePools: np, NodeOverlays: ov}, nil
}

// ValidateYAML checks every document of a multi-document stream by its
// kind and returns the documents and every violation. A kind other than
// NodePool or NodeOverlay is a violation.
func (k *Karpenter) ValidateYAML(b []byte) ([]map[string]any, []string, error) {
	docs, err := YAMLDocs(b)
	if err != nil {
		return nil, nil, err
	}
	var errs []string
	for i, d := range docs {
		var v *CRDValidator
		switch d["kind"] {
		case "NodePool":
			v = k.NodePools
		case "NodeOverlay":
			v = k.NodeOverlays
		default:
			errs = append(errs, fmt.Sprintf("document %d: kind %v is neither NodePool nor NodeOverlay", i, d["kind"]))
			continue
		}
		for _, e := range v.Validate(d) {
			errs = append(errs, fmt.Sprintf("document %d (%s %v): %s", i, d["kind"], d["metadata"], e))
		}
	}
	return docs, errs, nil
}

// crdSchema is one version's OpenAPI v3 schema from a CRD file, with
// every object that lists its properties closed to others (what kubectl's
// strict field validation does: an unknown field is an error, not pruned).
func crdSchema(file, version string) (map[string]any, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == version {
			j, err := JSONValue(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			s := j.(map[string]any)
			closeObjects(s)
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s has no version %s", file, version)
}

func closeObjects(s map[string]any) {
	if props, ok := s["properties"].(map[string]any); ok {
		if _, has := s["additionalProperties"]; !has && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			if m, ok := p.(map[string]any); ok {
				closeObjects(m)
			}
		}
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if m, ok := s[k].(map[string]any); ok {
			closeObjects(m)
		}
	}
}

// JSONValue turns decoded data (YAML or Go values) into what encoding/json
// would decode (numbers as json.Number), the form the schema validator
// reads.
func JSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// CRDValidator checks objects against one CRD version: its OpenAPI v3
// schema, then the CEL rules (x-kubernetes-validations) it declares.
type CRDValidator struct {
	schema   map[string]any
	compiled *jsonschema.Schema
	env      *cel.Env
	// Rules evaluated and transition rules skipped (those reading
	// oldSelf apply only to updates of an existing object).
	evaluated, skipped map[string]bool
}

// NewCRDValidator loads one version of a CRD file.
func NewCRDValidator(file, version string) (*CRDValidator, error) {
	s, err := crdSchema(file, version)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // OpenAPI 3.0 schemas are JSON Schema draft 4/5 dialects
	if err := c.AddResource("crd.json", s); err != nil {
		return nil, err
	}
	compiled, err := c.Compile("crd.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	env, err := cel.NewEnv(cel.Variable("self", cel.DynType), kubernetesFind())
	if err != nil {
		return nil, err
	}
	return &CRDValidator{schema: s, compiled: compiled, env: env, evaluated: map[string]bool{}, skipped: map[string]bool{}}, nil
}

// Evaluated lists the CEL rules applied so far; Skipped the transition
// rules left out.
func (v *CRDValidator) Evaluated() []string { return keys(v.evaluated) }

// Skipped lists the transition rules (reading oldSelf) left out.
func (v *CRDValidator) Skipped() []string { return keys(v.skipped) }

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// kubernetesFind is the find(regex) string function of Kubernetes' CEL
// regex library (k8s.io/apiserver/pkg/cel/library): the first match, or "".
func kubernetesFind() cel.EnvOption {
	return cel.Function("find", cel.MemberOverload("string_find_string", []*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
		cel.BinaryBinding(func(s, re ref.Val) ref.Val {
			r, err := regexp.Compile(string(re.(types.String)))
			if err != nil {
				return types.NewErr("find: %v", err)
			}
			return types.String(r.FindString(string(s.(types.String))))
		})))
}

// Validate checks one object (as decoded from JSON) and returns every
// violation.
func (v *CRDValidator) Validate(obj any) []string {
	var errs []string
	if err := v.compiled.Validate(obj); err != nil {
		errs = append(errs, "schema: "+err.Error())
	}
	v.cel(v.schema, obj, "", &errs)
	return errs
}

func (v *CRDValidator) cel(s map[string]any, val any, path string, errs *[]string) {
	if rules, ok := s["x-kubernetes-validations"].([]any); ok {
		for _, r := range rules {
			rule := r.(map[string]any)
			expr, _ := rule["rule"].(string)
			if strings.Contains(expr, "oldSelf") {
				v.skipped[expr] = true
				continue
			}
			v.evaluated[expr] = true
			ast, iss := v.env.Compile(expr)
			if iss.Err() != nil {
				*errs = append(*errs, fmt.Sprintf("%s: CEL rule %q does not compile: %v", path, expr, iss.Err()))
				continue
			}
			prg, err := v.env.Program(ast)
			if err != nil {
				*errs = append(*errs, fmt.Sprintf("%s: %v", path, err))
				continue
			}
			out, _, err := prg.Eval(map[string]any{"self": celValue(val)})
			if err != nil || out != types.True {
				*errs = append(*errs, fmt.Sprintf("%s: %v (rule %q: %v)", path, rule["message"], expr, err))
			}
		}
	}
	switch x := val.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		extra, _ := s["additionalProperties"].(map[string]any)
		for k, child := range x {
			if ps, ok := props[k].(map[string]any); ok {
				v.cel(ps, child, path+"."+k, errs)
			} else if extra != nil {
				v.cel(extra, child, path+"."+k, errs)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, child := range x {
				v.cel(items, child, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	}
}

// celValue turns JSON numbers into CEL ints or doubles, as the Kubernetes
// API server does for integer and number fields.
func celValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = celValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = celValue(e)
		}
		return l
	}
	return v
}

// YAMLDocs splits a multi-document YAML stream into JSON-like objects.
func YAMLDocs(b []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("yaml document %d: %w", len(out), err)
		}
		j, err := JSONValue(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, j.(map[string]any))
	}
}

// skyPilotResources is the resources schema of SkyPilot's
// sky/utils/schemas.py (source and commit in its $comment).
//
//go:embed skypilot-resources.schema.json
var skyPilotResources []byte

// SkyPilotSchema compiles SkyPilot's task resources schema.
func SkyPilotSchema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(skyPilotResources))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("skypilot-resources.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("skypilot-resources.json")
}

// ValidateSkyPilotYAML reads a task fragment and validates its resources
// section.
func ValidateSkyPilotYAML(b []byte) error {
	s, err := SkyPilotSchema()
	if err != nil {
		return err
	}
	var task map[string]any
	if err := yaml.Unmarshal(b, &task); err != nil {
		return fmt.Errorf("skypilot yaml: %w", err)
	}
	res, ok := task["resources"]
	if !ok {
		return errors.New("skypilot yaml: no resources section")
	}
	j, err := JSONValue(res)
	if err != nil {
		return err
	}
	return s.Validate(j)
}
