package recommend_test

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/recommend"
)

var planReplay = flag.Bool("planreplay", false, "replay the deadline plan on every skypilot AWS trace and setting (BENCHMARKS.md)")

// spotTrace is one skypilot trace (github.com/skypilot-org/spot-traces):
// data[i] > 0 when the instance could run at i·gap from the trace's start.
type spotTrace struct {
	zone, typ string
	gap       time.Duration
	up        []bool
}

// skypilotTypes: the traces' file-name tags (their README).
var skypilotTypes = map[string]string{"v100_1": "p3.2xlarge", "k80_1": "p2.xlarge"}

func loadTraces(t *testing.T, dir string) []spotTrace {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no skypilot traces in %s (../shared/data beside the repository): %v", dir, err)
	}
	var out []spotTrace
	for _, f := range files {
		zone, tag, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), "_")
		typ, ok := skypilotTypes[tag]
		if !ok {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Metadata struct {
				GapSeconds float64 `json:"gap_seconds"`
			} `json:"metadata"`
			Data []int `json:"data"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc.Metadata.GapSeconds <= 0 || len(doc.Data) == 0 {
			t.Fatalf("%s: no gap_seconds or no data", f)
		}
		tr := spotTrace{zone: zone, typ: typ, gap: time.Duration(doc.Metadata.GapSeconds * float64(time.Second))}
		for _, v := range doc.Data {
			tr.up = append(tr.up, v > 0)
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].zone < out[j].zone })
	return out
}

// trailingHazard is the forecast a user would have at tick k: the
// interruptions per available hour over the trace before k, as a Gamma
// posterior mean with a weak prior (one interruption in 10 hours, worth
// 10 hours of watching).
func trailingHazard(tr spotTrace, k int) float64 {
	ints, hours := 0.0, 0.0
	for i := 1; i < k; i++ {
		if tr.up[i-1] {
			hours += tr.gap.Hours()
			if !tr.up[i] {
				ints++
			}
		}
	}
	return (1 + ints) / (10 + hours)
}

// catalogPrices reads the on-demand and average spot price of a type per
// region from the ec2instances.info catalogue in the shared data.
func catalogPrices(t *testing.T, typ string) map[string][2]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir(t), "aws", "instance-types", "instances_by_region_2024-04.csv"))
	if err != nil {
		t.Skipf("catalogue: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]float64{}
	for _, r := range rows[1:] {
		if r[0] != typ {
			continue
		}
		od, _ := strconv.ParseFloat(r[8], 64)
		spot, _ := strconv.ParseFloat(r[9], 64)
		out[r[1]] = [2]float64{od, spot}
	}
	return out
}

func dataDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("real data not found at %s: %v", d, err)
	}
	return d
}

type replaySetting struct {
	compute, deadline, restart time.Duration
}

type replayTally struct {
	n, met, feasible                  int
	up, greedy, od, upSpot, greedyMet float64
}

// replay plays every window of a set of same-region traces (one pool per
// zone) with one setting: windows start every `every` after a warm-up of
// two days that the trailing hazard is estimated from.
func replay(t *testing.T, traces []spotTrace, s replaySetting, every time.Duration, prices map[string][2]float64, tally *replayTally) {
	gap := traces[0].gap
	n := len(traces[0].up)
	for _, tr := range traces {
		n = min(n, len(tr.up))
	}
	region, _ := market.RegionOfZone(traces[0].zone)
	pr, ok := prices[region]
	if !ok {
		t.Fatalf("no catalogue price for %s in %s", traces[0].typ, region)
	}
	warm := int(48 * time.Hour / gap)
	span := int(s.deadline / gap) // after the deadline the trace reads as unavailable
	for k0 := warm; k0+span < n; k0 += int(every / gap) {
		in := recommend.PlanInput{Compute: s.compute, Deadline: s.deadline, Start: time.Unix(0, 0).UTC(),
			CheckpointCost: time.Minute, RestartCost: s.restart, NoticeWindow: recommend.NoticeAWS,
			OnDemand: pr[0], Step: gap, Runs: 1}
		for _, tr := range traces {
			in.Pools = append(in.Pools, recommend.PlanPool{
				Pool:  market.PoolKey{Cloud: market.AWS, Region: region, Zone: tr.zone, InstanceType: tr.typ},
				Price: pr[1], Hazard: recommend.Hazard{{Start: in.Start, Rate: trailingHazard(tr, k0)}},
			})
		}
		avail := func(i, k int) bool { return k0+k < n && traces[i].up[k0+k] }
		res, err := recommend.ReplayPlan(in, avail, uint64(k0))
		if err != nil {
			t.Fatal(err)
		}
		tally.n++
		tally.feasible++ // D > C + d in every setting: on demand alone meets it
		if res.UniformProgress.MetDeadline {
			tally.met++
		} else {
			t.Errorf("%s window at tick %d, %+v: Uniform Progress missed the deadline: %+v", traces[0].zone, k0, s, res.UniformProgress)
		}
		if res.Greedy.MetDeadline {
			tally.greedyMet++
		}
		tally.up += res.UniformProgress.CostUSD
		tally.greedy += res.Greedy.CostUSD
		tally.od += res.OnDemand.CostUSD
		tally.upSpot += res.UniformProgress.SpotHours / (res.UniformProgress.SpotHours + res.UniformProgress.OnDemandHours)
	}
}

// TestPlanReplayTraces replays the deadline plan on the real skypilot
// spot traces (Can't Be Late's own data): the deadline must hold in every
// replay (each is feasible: D > C + d) and the plan must cost less than
// always-on-demand. By default one trace set and setting; -planreplay
// runs all of them and reports the table in BENCHMARKS.md.
func TestPlanReplayTraces(t *testing.T) {
	root := filepath.Join(dataDir(t), "traces", "skypilot-spot-traces")
	type set struct {
		name, dir string
		every     time.Duration
	}
	sets := []set{{"2023-04 preemption (4 zones, 32 s)", "preemption/1-node/aws-04-22-2023", 12 * time.Hour}}
	settings := []replaySetting{{48 * time.Hour, 70 * time.Hour, 12 * time.Minute}}
	if *planReplay {
		sets = append(sets,
			set{"2023-02 availability (9 zones, 195 s)", "availability/1-node/aws-02-15-2023", 24 * time.Hour},
			set{"2022-10 availability (2 zones, 600 s)", "availability/1-node/aws-10-26-2022", 24 * time.Hour})
		settings = []replaySetting{
			{48 * time.Hour, 52 * time.Hour, 3 * time.Minute}, {48 * time.Hour, 52 * time.Hour, 12 * time.Minute},
			{48 * time.Hour, 70 * time.Hour, 3 * time.Minute}, {48 * time.Hour, 70 * time.Hour, 12 * time.Minute},
		}
	}
	prices := map[string]map[string][2]float64{}
	for _, st := range sets {
		traces := loadTraces(t, filepath.Join(root, st.dir))
		for _, s := range settings {
			for _, multi := range []bool{false, true} {
				var tally replayTally
				if multi { // the zones of each region (one type) as one pool set
					byRegion := map[string][]spotTrace{}
					for _, tr := range traces {
						r, _ := market.RegionOfZone(tr.zone)
						byRegion[r+" "+tr.typ] = append(byRegion[r+" "+tr.typ], tr)
					}
					for _, trs := range byRegion {
						if prices[trs[0].typ] == nil {
							prices[trs[0].typ] = catalogPrices(t, trs[0].typ)
						}
						replay(t, trs, s, st.every, prices[trs[0].typ], &tally)
					}
				} else {
					for _, tr := range traces {
						if prices[tr.typ] == nil {
							prices[tr.typ] = catalogPrices(t, tr.typ)
						}
						replay(t, []spotTrace{tr}, s, st.every, prices[tr.typ], &tally)
					}
				}
				if tally.n == 0 {
					t.Fatalf("%s: no window fits", st.name)
				}
				pools := "one zone"
				if multi {
					pools = "zones of a region"
				}
				t.Logf("| %s | %s | C %v D %v d %v | %d | %d/%d | %.1f%% | %.1f%% | %.1f%% | %.0f%% | %d/%d |",
					st.name, pools, s.compute, s.deadline, s.restart, tally.n, tally.met, tally.feasible,
					100*(1-tally.up/tally.od), 100*(1-tally.greedy/tally.od), 100*(1-tally.up/tally.greedy),
					100*tally.upSpot/float64(tally.n), int(tally.greedyMet), tally.n)
				if tally.up >= tally.od {
					t.Errorf("%s %s %+v: the plan cost %.0f, always on demand %.0f", st.name, pools, s, tally.up, tally.od)
				}
			}
		}
	}
}

// loadCounts reads the node counts of multi-node skypilot traces.
func loadCounts(t *testing.T, dir string) [][]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no skypilot traces in %s: %v", dir, err)
	}
	var out [][]int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Data []int `json:"data"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, doc.Data)
	}
	return out
}
