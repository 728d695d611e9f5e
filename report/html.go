package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/spotcast/spotcast/market"
)

//go:embed template.html
var pageTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"usd":   usd,
	"usd0":  func(v float64) string { return "$" + thousands(math.Round(v)) },
	"pct":   pct,
	"pctf":  func(v float64) string { return fmt.Sprintf("%+.1f%%", 100*v) },
	"f2":    func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f3":    func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"sci":   func(v float64) string { return fmt.Sprintf("%.2g", v) },
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"day":   func(t time.Time) string { return t.UTC().Format("Mon Jan 2 15:04") },
	"dur":   func(s float64) string { return fmtSeconds(s) },
	"hours": func(h float64) string { return fmtSeconds(h * 3600) },
	"loc":   loc,
	"img": func(c *Chart) template.URL {
		// The bytes are our own PNG encoding, so the data URL is safe.
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG))
	},
	// chart returns nil when the report has no such chart, so that
	// {{with chart . "name"}} skips it.
	"chart": func(r Report, name string) *Chart {
		if c, ok := r.ChartByName(name); ok {
			return &c
		}
		return nil
	},
	"weekday": func(i int) string { return weekdays[i] },
	"add1":    func(i int) int { return i + 1 },
}).Parse(pageTemplate))

// HTMLBytes renders the report as one self-contained HTML page: the CSS
// is inline and the charts are embedded as base64 PNG, so the file reads
// the same offline, attached to an email or opened from disk.
func HTMLBytes(r Report) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "—"
	case math.Abs(v) < 1:
		return fmt.Sprintf("$%.4f", v)
	case math.Abs(v) < 100:
		return fmt.Sprintf("$%.3f", v)
	}
	return "$" + thousands(math.Round(v*100)/100)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// thousands formats v with thin-space-free comma separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	if v != math.Trunc(v) {
		s = fmt.Sprintf("%.2f", math.Abs(v))
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var out []byte
	for i, c := range []byte(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	res := string(out)
	if frac != "" {
		res += "." + frac
	}
	if v < 0 {
		res = "-" + res
	}
	return res
}

func loc(k market.PoolKey) string {
	if k.Zone != "" {
		return k.Zone
	}
	return k.Region
}

func fmtSeconds(s float64) string {
	switch {
	case math.IsInf(s, 1):
		return "never"
	case s < 0 || math.IsNaN(s):
		return "—"
	case s < 120:
		return fmt.Sprintf("%.0f s", s)
	case s < 2*3600:
		return fmt.Sprintf("%.0f min", s/60)
	case s < 72*3600:
		return fmt.Sprintf("%.1f h", s/3600)
	}
	return fmt.Sprintf("%.1f d", s/86400)
}
