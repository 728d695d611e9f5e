package recommend

import (
	"testing"
	"time"

	"github.com/spotcast/spotcast/market"
)

func TestNoticeOf(t *testing.T) {
	for _, tc := range []struct {
		cloud string
		want  time.Duration
	}{
		{market.AWS, 2 * time.Minute},
		{market.GCP, 30 * time.Second},
		{market.Azure, 30 * time.Second},
		{"", 2 * time.Minute},
		{"unknown", 2 * time.Minute},
	} {
		if got := NoticeOf(tc.cloud); got != tc.want {
			t.Errorf("NoticeOf(%q) = %v, want %v", tc.cloud, got, tc.want)
		}
	}
}
