package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"time"

	"github.com/spotcast/spotcast/forecast"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart size: 960 × 384 px at the PNG canvas' 96 dpi, sharp at the HTML's
// 900 px content width.
const (
	chartW = 10 * vg.Inch
	chartH = 4 * vg.Inch
)

var (
	colHistory = color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 0xff}
	colMedian  = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	colBand80  = color.NRGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0x55}
	colBand95  = color.NRGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0x22}
	colSpot    = color.RGBA{R: 0x1f, G: 0x8f, B: 0x4f, A: 0xff}
	colOD      = color.RGBA{R: 0xbf, G: 0x4f, B: 0x2f, A: 0xff}
)

// renderCharts draws every chart the report's sections call for.
func renderCharts(r *Report) error {
	tag := ""
	if r.Simulated {
		tag = " — SIMULATED DATA"
	}
	for i := range r.Forecasts.Pools {
		pf := &r.Forecasts.Pools[i]
		name := fmt.Sprintf("forecast-%d", i+1)
		png, err := forecastChart(*pf, tag)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		pf.Chart = name
		r.Charts = append(r.Charts, Chart{Name: name, Title: "7-day forecast: " + pf.Pool.String(), PNG: png,
			Alt: fmt.Sprintf("Price history and 7-day forecast of %s with 80%% and 95%% bands", pf.Pool)})
	}
	png, err := heatmapChart(r.Interruptions, tag)
	if err != nil {
		return fmt.Errorf("heatmap: %w", err)
	}
	r.Charts = append(r.Charts, Chart{Name: "interruptions-heatmap", Title: "Interruption hazard by hour of week", PNG: png,
		Alt: "Heatmap of the interruption hazard multiplier by weekday and hour (UTC)"})
	if len(r.Cheapest.ByPrice) > 0 {
		png, err := cheapestChart(r.Cheapest, tag)
		if err != nil {
			return fmt.Errorf("cheapest: %w", err)
		}
		r.Charts = append(r.Charts, Chart{Name: "cheapest-gpu", Title: "Cheapest price per GPU-hour by GPU model", PNG: png,
			Alt: "Bar chart of the cheapest spot price per GPU-hour and expected cost per useful GPU-hour for each GPU model"})
	}
	if len(r.Savings.Rows) > 0 {
		png, err := savingsChart(r.Savings, tag)
		if err != nil {
			return fmt.Errorf("savings: %w", err)
		}
		r.Charts = append(r.Charts, Chart{Name: "savings", Title: "Monthly cost: spot against on-demand", PNG: png,
			Alt: "Bar chart of the projected monthly cost on spot and on demand"})
	}
	return nil
}

// ChartByName returns the named chart (false if absent).
func (r Report) ChartByName(name string) (Chart, bool) {
	for _, c := range r.Charts {
		if c.Name == name {
			return c, true
		}
	}
	return Chart{}, false
}

func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(6)
	p.X.Tick.Label.Font.Size = vg.Points(9)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

func encode(p *plot.Plot, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(chartW, h, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

func forecastChart(pf PoolForecast, tag string) ([]byte, error) {
	p := newPlot(pf.Pool.String() + " (" + pf.Model + ", source " + pf.Source + ")" + tag)
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2", Ticker: dayTicks{}}
	p.Legend.Left = true
	p.Y.Label.Text = "USD per instance-hour"
	p.X.Label.Text = "UTC"
	p.Add(plotter.NewGrid())
	if len(pf.Steps) == 0 {
		return nil, fmt.Errorf("no forecast steps")
	}
	band := func(lo, hi float64, col color.Color) (*plotter.Polygon, error) {
		var ring plotter.XYs
		ring = append(ring, plotter.XY{X: unix(pf.Origin), Y: pf.LastPrice})
		for h, st := range pf.Steps {
			ring = append(ring, plotter.XY{X: unix(st.Time), Y: quantile(st, hi, h)})
		}
		for h := len(pf.Steps) - 1; h >= 0; h-- {
			ring = append(ring, plotter.XY{X: unix(pf.Steps[h].Time), Y: quantile(pf.Steps[h], lo, h)})
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return nil, err
		}
		poly.Color = col
		poly.LineStyle.Width = 0
		return poly, nil
	}
	b95, err := band(0.025, 0.975, colBand95)
	if err != nil {
		return nil, err
	}
	b80, err := band(0.1, 0.9, colBand80)
	if err != nil {
		return nil, err
	}
	p.Add(b95, b80)
	p.Legend.Add("95% band", b95)
	p.Legend.Add("80% band", b80)
	if len(pf.History) > 0 {
		var xy plotter.XYs
		for i, pt := range pf.History {
			if i > 0 { // a step function: hold the previous price until this point
				xy = append(xy, plotter.XY{X: unix(pt.Time), Y: pf.History[i-1].Price})
			}
			xy = append(xy, plotter.XY{X: unix(pt.Time), Y: pt.Price})
		}
		xy = append(xy, plotter.XY{X: unix(pf.Origin), Y: pf.History[len(pf.History)-1].Price})
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = colHistory, vg.Points(1.2)
		p.Add(l)
		p.Legend.Add("observed", l)
	}
	med := plotter.XYs{{X: unix(pf.Origin), Y: pf.LastPrice}}
	for _, st := range pf.Steps {
		med = append(med, plotter.XY{X: unix(st.Time), Y: st.Median})
	}
	l, err := plotter.NewLine(med)
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = colMedian, vg.Points(1.5)
	p.Add(l)
	p.Legend.Add("forecast median", l)
	return encode(p, chartH)
}

// dayTicks puts a labelled tick at every second midnight and a minor one
// at every other midnight.
type dayTicks struct{}

func (dayTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	t := time.Unix(int64(lo), 0).UTC().Truncate(24 * time.Hour)
	for i := 0; !t.After(time.Unix(int64(hi), 0)); i++ {
		if v := unix(t); v >= lo {
			tk := plot.Tick{Value: v}
			if t.YearDay()%2 == 0 {
				tk.Label = "x" // replaced by TimeTicks' format
			}
			out = append(out, tk)
		}
		t = t.Add(24 * time.Hour)
	}
	return out
}

// quantile reads level q of a step, interpolating between stored levels.
func quantile(st forecast.Step, q float64, _ int) float64 {
	qs := st.Quantiles
	if len(qs) == 0 {
		return st.Median
	}
	if q <= qs[0].P {
		return qs[0].Value
	}
	for i := 1; i < len(qs); i++ {
		if q <= qs[i].P {
			w := (q - qs[i-1].P) / (qs[i].P - qs[i-1].P)
			return qs[i-1].Value + w*(qs[i].Value-qs[i-1].Value)
		}
	}
	return qs[len(qs)-1].Value
}

// profileGrid is the hour-of-week profile as a heat map grid: columns are
// hours, rows weekdays with Monday on top.
type profileGrid [7][24]float64

func (g profileGrid) Dims() (c, r int)   { return 24, 7 }
func (g profileGrid) Z(c, r int) float64 { return g[6-r][c] }
func (g profileGrid) X(c int) float64    { return float64(c) }
func (g profileGrid) Y(r int) float64    { return float64(r) }

var weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func heatmapChart(sec InterruptionSection, tag string) ([]byte, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range sec.Profile {
		for _, v := range row {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	// A diverging palette centred on 1 (the week's average): blue hours
	// are calmer than average, red ones riskier.
	d := max(hi-1, 1-lo, 0.05)
	pal := moreland.SmoothBlueRed()
	pal.SetMin(1 - d)
	pal.SetMax(1 + d)
	title := fmt.Sprintf("Interruption hazard multiplier by hour of week, UTC (%.2f× to %.2f×; %d interruptions)%s", lo, hi, sec.Events, tag)
	if sec.Flat {
		title = fmt.Sprintf("Interruption hazard by hour of week: flat, too few interruptions (%d)%s", sec.Events, tag)
	}
	p := newPlot(title)
	hm := plotter.NewHeatMap(profileGrid(sec.Profile), pal.Palette(255))
	hm.Min, hm.Max = 1-d, 1+d
	p.Add(hm)
	var lab plotter.XYLabels
	for r := range 7 {
		for c := range 24 {
			lab.XYs = append(lab.XYs, plotter.XY{X: float64(c), Y: float64(6 - r)})
			lab.Labels = append(lab.Labels, fmt.Sprintf("%.2f", sec.Profile[r][c]))
		}
	}
	labels, err := plotter.NewLabels(lab)
	if err != nil {
		return nil, err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Size = vg.Points(7)
		labels.TextStyle[i].XAlign = draw.XCenter
		labels.TextStyle[i].YAlign = draw.YCenter
	}
	p.Add(labels)
	var yt, xt []plot.Tick
	for r := range 7 {
		yt = append(yt, plot.Tick{Value: float64(6 - r), Label: weekdays[r]})
	}
	for c := range 24 {
		xt = append(xt, plot.Tick{Value: float64(c), Label: fmt.Sprintf("%02d", c)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	p.X.Tick.Marker = plot.ConstantTicks(xt)
	p.X.Label.Text = "hour (UTC)"
	return encode(p, 3.6*vg.Inch)
}

// barChart draws horizontal grouped bars: one group per name, one bar
// per series.
func barChart(title, xlabel string, names []string, series []struct {
	label  string
	values plotter.Values
	col    color.Color
}, h vg.Length) ([]byte, error) {
	p := newPlot(title)
	p.X.Label.Text = xlabel
	p.Add(plotter.NewGrid())
	w := vg.Points(9)
	// NominalY counts from the bottom: reverse so the first name is on top.
	names = slices.Clone(names)
	slices.Reverse(names)
	top := 0.0
	for i, s := range series {
		vals := slices.Clone(s.values)
		slices.Reverse(vals)
		for _, v := range vals {
			top = max(top, v)
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		b.Horizontal = true
		b.Color = s.col
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(b)
		p.Legend.Add(s.label, b)
	}
	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.X.Min = 0
	p.X.Max = top * 1.3 // room for the legend right of the longest bar
	return encode(p, h)
}

func cheapestChart(sec CheapestSection, tag string) ([]byte, error) {
	var names []string
	var price, useful plotter.Values
	best := map[string]GPUPool{}
	bestU := map[string]GPUPool{}
	for _, g := range sec.ByPrice {
		if g.Rank == 1 {
			best[g.GPUModel] = g
			names = append(names, g.GPUModel)
		}
	}
	for _, g := range sec.ByUsefulCost {
		if g.Rank == 1 {
			bestU[g.GPUModel] = g
		}
	}
	for _, n := range names {
		price = append(price, best[n].PricePerGPUHour)
		useful = append(useful, bestU[n].CostPerUsefulGPUHour)
	}
	return barChart("Cheapest pool per GPU model (source "+sec.Source+")"+tag, "USD per GPU-hour", names, []struct {
		label  string
		values plotter.Values
		col    color.Color
	}{{"spot price per GPU-hour", price, colMedian}, {"expected cost per useful GPU-hour", useful, colOD}},
		vg.Length(1.2+0.32*float64(len(names)))*vg.Inch)
}

func savingsChart(sec SavingsSection, tag string) ([]byte, error) {
	var names []string
	var spot, od plotter.Values
	for _, r := range sec.Rows {
		name := r.Name
		if r.Kind == "pool" {
			name = r.Pool.Zone + " " + r.Pool.InstanceType
			if r.Pool.Zone == "" {
				name = r.Pool.Region + " " + r.Pool.InstanceType
			}
		}
		names = append(names, shorten(name, 40))
		spot = append(spot, r.MonthlySpotUSD)
		od = append(od, r.MonthlyOnDemandUSD)
	}
	return barChart("Projected monthly cost (source "+sec.Source+")"+tag, "USD per month", names, []struct {
		label  string
		values plotter.Values
		col    color.Color
	}{{"spot", spot, colSpot}, {"on-demand", od, colOD}},
		vg.Length(1.2+0.35*float64(len(names)))*vg.Inch)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
