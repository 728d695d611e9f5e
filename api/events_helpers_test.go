package api

import (
	"fmt"
	"time"
)

const time2h = 2 * time.Hour

// eventJSON is an EventBridge interruption warning enriched with the zone
// and instance type.
func eventJSON(id, instance, zone, typ string, at time.Time) string {
	region := zone[:len(zone)-1]
	return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2",
"account":"123456789012","time":%q,"region":%q,"resources":["arn:aws:ec2:%s:instance/%s"],
"detail":{"instance-id":%q,"instance-action":"terminate","availability-zone":%q,"instance-type":%q}}`,
		id, at.UTC().Format(time.RFC3339), region, zone, instance, instance, zone, typ)
}
