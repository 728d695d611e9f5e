package files

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

// csvRows counts a file's data rows with encoding/csv.
func csvRows(t *testing.T, path string, delim rune, header bool) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = delim
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if header {
		return len(rows) - 1
	}
	return len(rows)
}

func mustMap(t *testing.T, s string) map[string]string {
	t.Helper()
	m, err := ParseCSVMap(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenericCSVOneTypePerFile(t *testing.T) {
	// The shape of the issue: Timestamp,Region,SpotPrice with one
	// instance type per file.
	opts := Options{Format: FormatCSV, CSV: &CSVMapping{
		Columns:   mustMap(t, "timestamp=Timestamp,region=region,price=3"),
		Constants: map[string]string{"instance_type": "t3.micro", "product": "Linux/UNIX"},
	}}
	c, res, err := parseFile(t, td("csv_timestamp_region_price.csv"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := csvRows(t, td("csv_timestamp_region_price.csv"), ',', true); len(c.Prices) != n || res.Read != int64(n) {
		t.Fatalf("prices %d read %d, the file has %d rows", len(c.Prices), res.Read, n)
	}
	want := market.PricePoint{
		Pool: market.PoolKey{Cloud: market.AWS, Region: "us-east-1", InstanceType: "t3.micro", Product: "Linux/UNIX"},
		Time: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Price: 0.0031, Source: "file:csv_timestamp_region_price.csv", FetchedAt: fixedNow,
	}
	if c.Prices[0] != want {
		t.Errorf("first\n got %+v\nwant %+v", c.Prices[0], want)
	}
}

func TestGenericCSVZoneIDs(t *testing.T) {
	m := &CSVMapping{Columns: mustMap(t, "zone=1,instance_type=2,timestamp=3,price=4"), Delimiter: ';', NoHeader: true,
		Constants: map[string]string{"product": "Linux/UNIX"}}
	// Without known names the IDs are the zones.
	c, _, err := parseFile(t, td("csv_zone_ids_semicolon.csv"), Options{Format: FormatCSV, CSV: m})
	if err != nil {
		t.Fatal(err)
	}
	if n := csvRows(t, td("csv_zone_ids_semicolon.csv"), ';', false); len(c.Prices) != n {
		t.Fatalf("prices %d, rows %d", len(c.Prices), n)
	}
	if k := c.Prices[0].Pool; k.Zone != "use1-az4" || k.Region != "us-east-1" || len(c.ZoneIDs) != 0 {
		t.Errorf("unresolved ID: %+v, pairs %+v", k, c.ZoneIDs)
	}
	if k := c.Prices[3].Pool; k.Zone != "usw2-az1" || k.Region != "us-west-2" {
		t.Errorf("us-west-2 row %+v", k)
	}
	// With the account's names (describe-availability-zones) they are
	// stored under the names, each pair kept once.
	names := map[string]string{"use1-az4": "us-east-1d", "use1-az1": "us-east-1b"}
	c, _, err = parseFile(t, td("csv_zone_ids_semicolon.csv"), Options{Format: FormatCSV, CSV: m, ZoneNames: names})
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Prices[0].Pool; k.Zone != "us-east-1d" {
		t.Errorf("resolved ID: %+v", k)
	}
	if len(c.ZoneIDs) != 2 || c.ZoneIDs[0] != (market.ZoneID{Cloud: market.AWS, Region: "us-east-1", Zone: "us-east-1d", ZoneID: "use1-az4",
		Source: "file:csv_zone_ids_semicolon.csv", FetchedAt: fixedNow}) {
		t.Errorf("pairs %+v", c.ZoneIDs)
	}
	if k := c.Prices[3].Pool; k.Zone != "usw2-az1" {
		t.Errorf("an ID without a known name: %+v", k)
	}
}

func TestGenericCSVZoneBesideID(t *testing.T) {
	m := &CSVMapping{Columns: mustMap(t, "timestamp=day,zone=az,zone_id=az_id,instance_type=type,product=os,price=usd")}
	c, _, err := parseFile(t, td("csv_zone_and_id.csv"), Options{Format: FormatCSV, CSV: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Prices) != 3 || len(c.ZoneIDs) != 2 || c.ZoneIDs[1].Zone != "us-east-1b" || c.ZoneIDs[1].ZoneID != "use1-az1" ||
		!c.Prices[0].Time.Equal(date(2024, 5, 1)) || c.Prices[0].Pool.Zone != "us-east-1a" {
		t.Fatalf("prices %+v pairs %+v", c.Prices, c.ZoneIDs)
	}
}

func TestGenericCSVBad(t *testing.T) {
	m := &CSVMapping{Columns: mustMap(t, "timestamp=Timestamp,region=Region,price=SpotPrice"),
		Constants: map[string]string{"instance_type": "t3.micro"}}
	_, _, err := parseFile(t, td("bad/csv_bad_rows.csv"), Options{Format: FormatCSV, CSV: m})
	var re *ingest.RowError
	if !errors.As(err, &re) || re.Line != 3 || !strings.Contains(err.Error(), "time zone") {
		t.Fatalf("err = %v, want FILE:3 about the time zone", err)
	}
	c, res, err := parseFile(t, td("bad/csv_bad_rows.csv"), Options{Format: FormatCSV, CSV: m, SkipBad: true})
	if err != nil || res.Bad != 3 || len(c.Prices) != 1 || !strings.Contains(res.BadReasons[1], "us-east-9") {
		t.Fatalf("skip-bad: %v bad %d %q prices %d", err, res.Bad, res.BadReasons, len(c.Prices))
	}
	for _, tc := range []struct {
		m    *CSVMapping
		want string
	}{
		{nil, "column mapping"},
		{&CSVMapping{Columns: map[string]string{"timestamp": "Timestamp", "price": "Cost"}, Constants: map[string]string{"instance_type": "x", "region": "us-east-1"}}, "Cost"},
		{&CSVMapping{Columns: map[string]string{"timestamp": "1", "price": "3"}, Constants: map[string]string{"region": "us-east-1"}}, "instance_type"},
		{&CSVMapping{Columns: map[string]string{"timestamp": "Timestamp", "price": "3"}, NoHeader: true, Constants: map[string]string{"instance_type": "x", "region": "us-east-1"}}, "by number"},
		{&CSVMapping{Columns: map[string]string{"timestamp": "1", "price": "9"}, Constants: map[string]string{"instance_type": "x", "region": "us-east-1"}}, "3 columns"},
	} {
		_, _, err := parseFile(t, td("csv_timestamp_region_price.csv"), Options{Format: FormatCSV, CSV: tc.m})
		if !errors.Is(err, ingest.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mapping %+v: err = %v, want one naming %q", tc.m, err, tc.want)
		}
	}
	for _, s := range []string{"timestamp", "size=3", "price=1,price=2"} {
		if _, err := ParseCSVMap(s); err == nil {
			t.Errorf("ParseCSVMap(%q) accepted", s)
		}
	}
}

func TestAWSAvailabilityZones(t *testing.T) {
	c, res, err := parseFile(t, td("describe_availability_zones.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatAWSZones || len(c.ZoneIDs) != 4 || c.ZoneIDs[3].Zone != "us-east-1d" || c.ZoneIDs[3].ZoneID != "use1-az4" {
		t.Fatalf("format %s pairs %+v", res.Format, c.ZoneIDs)
	}
	_, err = Parse(context.Background(), strings.NewReader(`{"AvailabilityZones":[{"ZoneName":"us-east-1a","ZoneId":"usw2-az1","RegionName":"us-east-1"}]}`),
		"z.json", &collect{}, Options{Now: clock})
	if !errors.Is(err, ingest.ErrBadInput) || !strings.Contains(err.Error(), "usw2-az1") {
		t.Fatalf("mismatched pair: err = %v", err)
	}
}

func TestGenericCSVImportResolvesStoredNames(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := Import(ctx, s, []string{td("describe_availability_zones.json")}, Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.ZoneIDs(ctx, market.AWS, "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, z := range ids {
		names[z.ZoneID] = z.Zone
	}
	m := &CSVMapping{Columns: mustMap(t, "zone=1,instance_type=2,timestamp=3,price=4"), Delimiter: ';', NoHeader: true}
	opts := Options{Format: FormatCSV, CSV: m, ZoneNames: names, Now: clock}
	rep, err := Import(ctx, s, []string{td("csv_zone_ids_semicolon.csv")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// 4 prices; the two us-east-1 pairs are already stored.
	if rep.RowsStored != 4 || rep.Duplicates != 2 {
		t.Fatalf("stored %d duplicates %d", rep.RowsStored, rep.Duplicates)
	}
	pools, err := s.LatestPrices(ctx, storageFilterZone("us-east-1d"))
	if err != nil || len(pools) != 1 {
		t.Fatalf("pool under the zone's name: %+v (%v)", pools, err)
	}
	if rep, err := Import(ctx, s, []string{td("csv_zone_ids_semicolon.csv")}, opts); err != nil || rep.RowsStored != 0 {
		t.Fatalf("re-import stored %d (%v)", rep.RowsStored, err)
	}
}
