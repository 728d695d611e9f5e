package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNext(t *testing.T) {
	tests := []struct {
		expr, from string
		want       []string // successive Next times
	}{
		{"0 6 * * *", "2026-03-04 05:59", []string{"2026-03-04 06:00", "2026-03-05 06:00"}},
		{"0 6 * * *", "2026-03-04 06:00", []string{"2026-03-05 06:00"}},
		{"@daily", "2026-12-31 23:59", []string{"2027-01-01 00:00"}},
		{"@hourly", "2026-03-04 06:30", []string{"2026-03-04 07:00", "2026-03-04 08:00"}},
		{"*/15 * * * *", "2026-03-04 06:07", []string{"2026-03-04 06:15", "2026-03-04 06:30", "2026-03-04 06:45", "2026-03-04 07:00"}},
		{"5/20 * * * *", "2026-03-04 06:00", []string{"2026-03-04 06:05", "2026-03-04 06:25", "2026-03-04 06:45", "2026-03-04 07:05"}},
		{"0 9-17/4 * * mon-fri", "2026-03-06 16:00", []string{"2026-03-06 17:00", "2026-03-09 09:00"}}, // Fri, then Mon
		{"30 2 29 feb *", "2026-03-01 00:00", []string{"2028-02-29 02:30"}},
		{"0 0 1,15 * *", "2026-01-15 00:00", []string{"2026-02-01 00:00", "2026-02-15 00:00"}},
		// Both day fields restricted: either matches (the 13th, or a Friday).
		{"0 0 13 * 5", "2026-03-01 00:00", []string{"2026-03-06 00:00", "2026-03-13 00:00", "2026-03-20 00:00"}},
		{"0 0 * * 7", "2026-03-04 00:00", []string{"2026-03-08 00:00"}}, // 7 is Sunday
		{"0 0 * * SUN", "2026-03-04 00:00", []string{"2026-03-08 00:00"}},
		{"0 12 31 * *", "2026-04-01 00:00", []string{"2026-05-31 12:00", "2026-07-31 12:00"}},
		{"59 23 31 dec *", "2026-12-31 23:59", []string{"2027-12-31 23:59"}},
		{"@weekly", "2026-03-04 10:00", []string{"2026-03-08 00:00"}},
		{"@monthly", "2026-03-04 10:00", []string{"2026-04-01 00:00"}},
		{"@yearly", "2026-03-04 10:00", []string{"2027-01-01 00:00"}},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		cur := at(tt.from)
		for _, w := range tt.want {
			cur = s.Next(cur)
			if !cur.Equal(at(w)) {
				t.Errorf("%q after %s: got %s, want %s", tt.expr, tt.from, cur.Format("2006-01-02 15:04 Mon"), w)
				break
			}
		}
	}
}

func TestNextIsUTCAndWholeMinutes(t *testing.T) {
	s, err := Parse("0 6 * * *")
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("UTC+5", 5*3600)
	got := s.Next(time.Date(2026, 3, 4, 10, 30, 12, 5, loc)) // 05:30:12 UTC
	if want := time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("got %v, want %v in UTC", got, want)
	}
	if !(Schedule{}).Next(at("2026-03-04 00:00")).IsZero() {
		t.Error("zero Schedule should never match")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // substring of the error
	}{
		{"", "0 fields, want 5"},
		{"0 6 * *", "4 fields, want 5"},
		{"0 6 * * * *", "6 fields, want 5"},
		{"60 6 * * *", `minute field "60": 60 is out of range 0-59`},
		{"0 25 * * *", `hour field "25": 25 is out of range 0-23`},
		{"0 6 0 * *", `day-of-month field "0": 0 is out of range 1-31`},
		{"0 6 * 13 *", `month field "13"`},
		{"0 6 * foo *", `month field "foo": "foo" is neither a number nor a name`},
		{"0 6 * * 8", `day-of-week field "8": 8 is out of range 0-7`},
		{"0 6 * * mon-", `day-of-week field "mon-"`},
		{"*/0 * * * *", `minute field "*/0": step "0" is not a positive number`},
		{"*/x * * * *", `minute field "*/x"`},
		{"*/61 * * * *", `minute field "*/61": step 61 is longer`},
		{"5-1 * * * *", `minute field "5-1": range 5-1 runs backwards`},
		{"1,,2 * * * *", `minute field "1,,2": empty list item`},
		{"a * * * *", `minute field "a": "a" is not a number`},
		{"/5 * * * *", `minute field "/5": missing value`},
		{"0 0 30 2 *", `day-of-month field "30" never occurs in month field "2"`},
		{"@often", `unknown macro "@often"`},
		{"0 6 * * * # daily", "7 fields"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", tt.expr, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %q, want it to contain %q and wrap ErrSyntax", tt.expr, err, tt.want)
		}
	}
}

// TestNextAgainstBruteForce checks Next against a minute-by-minute scan
// for expressions whose next match lies within a few weeks.
func TestNextAgainstBruteForce(t *testing.T) {
	exprs := []string{"0 6 * * *", "*/7 3-5 * * 1-5", "15 */6 1-10 * sun", "0 0 13 * 5", "45 23 * jun-aug 6,0", "0 0 1 * *"}
	starts := []time.Time{at("2026-03-04 05:59"), at("2024-02-28 23:59"), at("2026-12-31 23:00")}
	for _, e := range exprs {
		s, err := Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range starts {
			want := time.Time{}
			for c := st.Add(time.Minute); c.Before(st.AddDate(0, 3, 0)); c = c.Add(time.Minute) {
				if s.matches(c) {
					want = c
					break
				}
			}
			if want.IsZero() {
				continue
			}
			if got := s.Next(st); !got.Equal(want) {
				t.Errorf("%q after %s: got %s, want %s", e, st, got, want)
			}
		}
	}
}

// matches is the definition Next must agree with.
func (s Schedule) matches(t time.Time) bool {
	return s.minute&(1<<t.Minute()) != 0 && s.hour&(1<<t.Hour()) != 0 &&
		s.month&(1<<int(t.Month())) != 0 && s.dayMatches(t)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 6 * * *", "*/15 * * * *", "0 0 13 * 5", "@daily", "5-1 * * * *", "0 0 30 2 *", "1,2-4/2 0-23/3 L * ?"} {
		f.Add(s)
	}
	from := at("2026-03-04 05:59")
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		n := s.Next(from)
		if n.IsZero() {
			t.Fatalf("%q parsed but never matches", expr)
		}
		if !n.After(from) || n.Second() != 0 || n.Nanosecond() != 0 || !s.matches(n) {
			t.Fatalf("%q: Next(%s) = %s is not a later whole minute that matches", expr, from, n)
		}
	})
}
