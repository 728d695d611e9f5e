package recommend

import (
	"time"

	"github.com/spotcast/spotcast/market"
)

// NoticeOf is the notice window of a cloud's interruptions: NoticeGCP for
// market.GCP, NoticeAzure for market.Azure, and NoticeAWS for AWS and for
// any other or no cloud (AWS is the default cloud throughout).
func NoticeOf(cloud string) time.Duration {
	switch cloud {
	case market.GCP:
		return NoticeGCP
	case market.Azure:
		return NoticeAzure
	}
	return NoticeAWS
}
