package launch_test

import (
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/spotcast/spotcast/launch/launchcheck"
)

// The validators live in launchcheck, shared with the tests of the CLI and
// the APIs that write the same documents; these wrap them for t.

type crdValidator = launchcheck.CRDValidator

func karpenterCRDs(t *testing.T) string {
	t.Helper()
	dir, err := launchcheck.KarpenterCRDs()
	if err != nil {
		t.Fatalf("Karpenter's CRDs are needed to validate the manifests: %v", err)
	}
	return dir
}

func newCRDValidator(t *testing.T, file, version string) *crdValidator {
	t.Helper()
	v, err := launchcheck.NewCRDValidator(file, version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonValue(t *testing.T, v any) any {
	t.Helper()
	j, err := launchcheck.JSONValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func yamlDocs(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	d, err := launchcheck.YAMLDocs(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// skyPilotSchema is SkyPilot's resources schema (launchcheck embeds it,
// with its source and commit in its $comment).
func skyPilotSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	s, err := launchcheck.SkyPilotSchema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
