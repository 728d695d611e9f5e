package files

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

const sidecarCSV = `timestamp,availability_zone,instance_type,product_description,spot_price
2026-05-02T10:00:00+00:00,us-east-1a,g5.xlarge,Linux/UNIX,0.402400
2026-05-01T10:00:00+00:00,us-east-1a,g5.xlarge,Linux/UNIX,0.398100
`

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A per-AZ CSV with a source sidecar saying "simulated" is stored as
// simulated; without one it is "file:NAME"; the sidecar is not itself
// imported when its directory is.
func TestSourceSidecar(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sim := filepath.Join(dir, "market.csv")
	writeFile(t, sim, sidecarCSV)
	writeFile(t, ingest.SourceSidecar(sim), "simulated\n")
	plainDir := t.TempDir()
	plain := filepath.Join(plainDir, "real.csv")
	writeFile(t, plain, strings.ReplaceAll(sidecarCSV, "us-east-1a", "us-east-1b"))

	s := openStore(t)
	rep, err := Import(ctx, s, []string{dir, plain}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 2 || rep.Files[0].Path != sim || rep.RowsStored != 4 {
		t.Fatalf("report %+v: want market.csv and real.csv, 4 rows", rep.Files)
	}
	if !strings.Contains(strings.Join(rep.Files[0].Info, "\n"), "source simulated") {
		t.Errorf("info %q does not say the rows are simulated", rep.Files[0].Info)
	}
	for zone, want := range map[string]string{"us-east-1a": market.SourceSimulated, "us-east-1b": "file:real.csv"} {
		key := market.PoolKey{Cloud: market.AWS, Region: "us-east-1", Zone: zone, InstanceType: "g5.xlarge", Product: "Linux/UNIX"}
		pts, err := s.Series(ctx, key, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != 2 || pts[0].Source != want || pts[1].Source != want {
			t.Errorf("%s: %d points, source %v; want 2, %s", zone, len(pts), pts, want)
		}
	}
}

// A sidecar may only mark rows as simulated: any other source fails the
// file, naming the sidecar, and stores nothing.
func TestSourceSidecarOnlySimulated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "market.csv")
	writeFile(t, path, sidecarCSV)
	writeFile(t, ingest.SourceSidecar(path), "aws-api\n")
	s := openStore(t)
	before := counts(t, s)
	_, err := Import(ctx, s, []string{path}, Options{})
	if err == nil || !strings.Contains(err.Error(), ingest.SourceSidecar(path)) || !strings.Contains(err.Error(), `"aws-api"`) {
		t.Fatalf("err = %v; want one naming the sidecar and its source", err)
	}
	if after := counts(t, s); after["prices"] != before["prices"] {
		t.Errorf("prices %d -> %d: a refused file must store nothing", before["prices"], after["prices"])
	}
}
