package cron_test

import (
	"fmt"
	"time"

	"github.com/spotcast/spotcast/report/cron"
)

func ExampleParse() {
	s, err := cron.Parse("0 6 * * mon-fri") // weekdays at 06:00 UTC
	if err != nil {
		panic(err)
	}
	t := time.Date(2026, 3, 6, 7, 0, 0, 0, time.UTC) // a Friday, after 06:00
	fmt.Println(s.Next(t))
	_, err = cron.Parse("0 25 * * *")
	fmt.Println(err)
	// Output:
	// 2026-03-09 06:00:00 +0000 UTC
	// cron "0 25 * * *": hour field "25": 25 is out of range 0-23: bad cron expression
}
