package awsapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// On a machine that is not an EC2 instance and has no credentials, the
// SDK's credential chain probes the instance metadata service and warns
// "falling back to IMDSv1". That warning is expected there: LoadConfig
// routes it to the debug level, so `make run` prints no AWS SDK warning,
// and HaveCredentials says there are none. The metadata service here is a
// local server answering 404, as an address without IMDSv2 does.
func TestNoIMDSWarningWithoutCredentials(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer imds.Close()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":              "",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      imds.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "",
		"AWS_EC2_METADATA_V1_DISABLED":           "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	} {
		t.Setenv(k, v)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if HaveCredentials(ctx, cfg) {
		t.Fatal("credentials found with none configured")
	}
	out := logs.String()
	if !strings.Contains(out, "falling back to IMDSv1") {
		t.Fatalf("the SDK did not probe the metadata service at %s (logs: %q)", imds.URL, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(line, "level=DEBUG") {
			t.Errorf("SDK log line above debug level: %s", line)
		}
	}
}
