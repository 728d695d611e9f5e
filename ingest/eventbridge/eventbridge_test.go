package eventbridge

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/ingest"
	"github.com/spotcast/spotcast/market"
)

type sink struct{ events []market.Event }

func (s *sink) AddPrice(market.PricePoint) error   { return errors.New("unexpected price") }
func (s *sink) AddAdvisor(market.AdvisorRow) error { return errors.New("unexpected advisor row") }
func (s *sink) AddInstanceType(market.InstanceType) error {
	return errors.New("unexpected instance type")
}
func (s *sink) AddOnDemand(market.OnDemandPrice) error {
	return errors.New("unexpected on-demand price")
}
func (s *sink) AddPlacementScore(market.PlacementScore) error { return errors.New("unexpected score") }
func (s *sink) AddEvent(e market.Event) error                 { s.events = append(s.events, e); return nil }

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func parseString(in string, opts Options) (*sink, ingest.Tally, error) {
	s := &sink{}
	opts.Now = func() time.Time { return now }
	t, err := ParseOptions(strings.NewReader(in), "stdin", s, opts)
	return s, t, err
}

const warning = `{"version":"0","id":"1e5527d7","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","account":"123456789012","time":"2021-02-02T20:17:45Z","region":"us-east-2","resources":["arn:aws:ec2:us-east-2a:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","instance-action":"terminate"}}`

func TestParse(t *testing.T) {
	for _, file := range []string{"testdata/events.ndjson", "testdata/events_array.json"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		s := &sink{}
		tally, err := Parse(f, file, s)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if tally.Read != int64(len(s.events)) || len(s.events) == 0 || tally.Added != tally.Read {
			t.Errorf("%s: tally %+v, events %d", file, tally, len(s.events))
		}
		for _, e := range s.events {
			if e.Source != market.SourceEventBridge || e.Cloud != market.AWS || e.Count != 1 || e.EventID == "" || e.InstanceID == "" {
				t.Errorf("%s: %+v", file, e)
			}
		}
	}
}

func TestConvert(t *testing.T) {
	s, _, err := parseString(warning, Options{Source: "file:x"})
	if err != nil {
		t.Fatal(err)
	}
	want := market.Event{Time: time.Date(2021, 2, 2, 20, 17, 45, 0, time.UTC), Cloud: "aws", Region: "us-east-2", Zone: "us-east-2a",
		InstanceID: "i-1234567890abcdef0", Kind: market.EventInterruptionWarning, Count: 1, EventID: "1e5527d7", Source: "file:x", FetchedAt: now}
	if len(s.events) != 1 || s.events[0] != want {
		t.Fatalf("got %+v\nwant %+v", s.events, want)
	}
}

func TestBadEvents(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "  \n", "empty input"},
		{"not json", "hello", "stdin:1: expected a JSON object or array"},
		{"wrong detail-type", strings.Replace(warning, "EC2 Spot Instance Interruption Warning", "EC2 Instance State-change Notification", 1), `stdin:1: detail-type "EC2 Instance State-change Notification"`},
		{"wrong source", strings.Replace(warning, `"aws.ec2"`, `"aws.s3"`, 1), `source "aws.s3"`},
		{"no zone", strings.Replace(warning, "20:17:45Z", "20:17:45", 1), "has no time zone"},
		{"unknown region", strings.Replace(warning, `"us-east-2"`, `"us-moon-1"`, 1), `unknown region "us-moon-1"`},
		{"zone outside region", strings.Replace(warning, `"instance-action"`, `"availability-zone":"eu-west-1a","instance-action"`, 1), `availability-zone "eu-west-1a" is not in region "us-east-2"`},
		{"wrong type", strings.Replace(warning, `"1e5527d7"`, `17`, 1), `field "id": expected string`},
		{"second line", warning + "\n" + strings.Replace(warning, `"time":"2021-02-02T20:17:45Z",`, "", 1), `stdin:2: missing "time"`},
		{"syntax", warning + "\n{\"id\": ", "stdin:2:"},
		{"array syntax", "[" + warning + ",\n" + warning + "\n", "input ends inside a JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseString(tc.in, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, ingest.ErrBadInput) {
				t.Errorf("%v does not match ingest.ErrBadInput", err)
			}
		})
	}
}

func TestSkipBad(t *testing.T) {
	in := warning + "\n" + strings.Replace(warning, `"aws.ec2"`, `"aws.s3"`, 1) + "\n" + strings.Replace(warning, "1e5527d7", "2e", 1)
	s, tally, err := parseString(in, Options{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.events) != 2 || tally.Bad != 1 || tally.Read != 3 || len(tally.BadReasons) != 1 || !strings.HasPrefix(tally.BadReasons[0], "stdin:2:") {
		t.Errorf("events %d, tally %+v", len(s.events), tally)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(warning))
	f.Add([]byte("[" + warning + "]"))
	f.Add([]byte(warning + "\n" + warning))
	f.Add([]byte(`{"detail-type": 5}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &sink{}
		tally, err := ParseOptions(strings.NewReader(string(in)), "fuzz", s, Options{SkipBad: true, Now: func() time.Time { return now }})
		if int64(len(s.events)) != tally.Added {
			t.Fatalf("added %d, sink got %d", tally.Added, len(s.events))
		}
		if err == nil && tally.Added+tally.Bad != tally.Read {
			t.Fatalf("read %d != added %d + bad %d", tally.Read, tally.Added, tally.Bad)
		}
		for _, e := range s.events {
			if e.Time.IsZero() || !market.KnownRegion(market.AWS, e.Region) || e.InstanceID == "" || e.EventID == "" {
				t.Fatalf("accepted an invalid event %+v", e)
			}
		}
	})
}
