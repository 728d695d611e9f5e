package launch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
	karpenterModule  = "sigs.k8s.io/karpenter"
	karpenterVersion = "v1.14.1"
)

// karpenterCRDs returns the directory of Karpenter's CRD YAML files,
// downloading the module into the module cache if it is not there.
func karpenterCRDs(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), karpenterModule+"@"+karpenterVersion)
	if _, err := os.Stat(filepath.Join(dir, "pkg", "apis", "crds")); err != nil {
		cmd := exec.Command("go", "mod", "download", "-json", karpenterModule+"@"+karpenterVersion)
		cmd.Dir = t.TempDir() // outside the project: its go.mod stays as it is
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		var info struct{ Dir, Error string }
		if jerr := json.Unmarshal(b, &info); err != nil || jerr != nil || info.Dir == "" {
			t.Fatalf("Karpenter's CRDs are needed to validate the manifests: go mod download %s@%s: %v %s %s", karpenterModule, karpenterVersion, err, info.Error, stderr.String())
		}
		dir = info.Dir
	}
	return filepath.Join(dir, "pkg", "apis", "crds")
}

// crdSchema is one version's OpenAPI v3 schema from a CRD file, with
// every object that lists its properties closed to others (what kubectl's
// strict field validation does: an unknown field is an error, not pruned).
func crdSchema(t *testing.T, file, version string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
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
		t.Fatalf("%s: %v", file, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == version {
			s := jsonValue(t, v.Schema.OpenAPIV3Schema).(map[string]any)
			closeObjects(s)
			return s
		}
	}
	t.Fatalf("%s has no version %s", file, version)
	return nil
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

// jsonValue turns YAML-decoded data into what encoding/json would decode
// (numbers as json.Number), the form the schema validator reads.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// crdValidator checks objects against one CRD version: its OpenAPI v3
// schema, then the CEL rules (x-kubernetes-validations) it declares.
type crdValidator struct {
	schema   map[string]any
	compiled *jsonschema.Schema
	env      *cel.Env
	// Rules evaluated and transition rules skipped (those reading
	// oldSelf apply only to updates of an existing object).
	evaluated, skipped map[string]bool
}

func newCRDValidator(t *testing.T, file, version string) *crdValidator {
	t.Helper()
	s := crdSchema(t, file, version)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // OpenAPI 3.0 schemas are JSON Schema draft 4/5 dialects
	if err := c.AddResource("crd.json", s); err != nil {
		t.Fatal(err)
	}
	compiled, err := c.Compile("crd.json")
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	env, err := cel.NewEnv(cel.Variable("self", cel.DynType), kubernetesFind())
	if err != nil {
		t.Fatal(err)
	}
	return &crdValidator{schema: s, compiled: compiled, env: env, evaluated: map[string]bool{}, skipped: map[string]bool{}}
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

// validate checks one object (as decoded from JSON) and returns every
// violation.
func (v *crdValidator) validate(obj any) []string {
	var errs []string
	if err := v.compiled.Validate(obj); err != nil {
		errs = append(errs, "schema: "+err.Error())
	}
	v.cel(v.schema, obj, "", &errs)
	return errs
}

func (v *crdValidator) cel(s map[string]any, val any, path string, errs *[]string) {
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

// yamlDocs splits a multi-document YAML stream into JSON-like objects.
func yamlDocs(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("yaml: %v", err)
		}
		out = append(out, jsonValue(t, doc).(map[string]any))
	}
}
