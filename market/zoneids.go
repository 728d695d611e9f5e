package market

import "strings"

// AWS availability-zone IDs are the region's short code, "-az" and a
// number ("use1-az4"); a Local Zone's ID puts its group between them
// ("use1-bos1-az1"). The short code abbreviates the region name the same
// way for every region: the partition prefix, the first letter of each
// direction word ("gov" gives "g") and the number, so "us-east-1" is
// "use1", "ap-northeast-1" "apne1" and "us-gov-west-1" "usgw1" (Amazon EC2
// User Guide, "AZ IDs"). awsZoneIDRegions maps each known region's code
// back to it.
var awsZoneIDRegions = func() map[string]string {
	m := map[string]string{}
	for _, r := range awsRegions {
		if c, ok := awsRegionCode(r); ok {
			m[c] = r
		}
	}
	return m
}()

var awsDirections = map[string]string{
	"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
	"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw", "gov": "g",
}

// awsRegionCode is the zone-ID code of a region name ("us-east-1" ->
// "use1"); ok is false for names outside the scheme.
func awsRegionCode(region string) (string, bool) {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return "", false
	}
	code := parts[0]
	for _, w := range parts[1 : len(parts)-1] {
		d, ok := awsDirections[w]
		if !ok {
			return "", false
		}
		code += d
	}
	num := parts[len(parts)-1]
	for i := 0; i < len(num); i++ {
		if !isDigit(num[i]) {
			return "", false
		}
	}
	return code + num, true
}

// IsAWSZoneID reports whether s has the form of an AWS availability-zone
// ID of a known region ("use1-az4", "use1-bos1-az1").
func IsAWSZoneID(s string) bool {
	_, ok := AWSRegionOfZoneID(s)
	return ok
}

// AWSRegionOfZoneID returns the region of an AWS availability-zone ID
// ("use1-az4" -> "us-east-1").
func AWSRegionOfZoneID(id string) (string, bool) {
	i := strings.LastIndex(id, "-az")
	if i <= 0 || i+3 == len(id) {
		return "", false
	}
	for j := i + 3; j < len(id); j++ {
		if !isDigit(id[j]) {
			return "", false
		}
	}
	code := id[:i]
	if k := strings.IndexByte(code, '-'); k >= 0 {
		// A Local Zone group ("use1-bos1"): letters then a digit.
		group := code[k+1:]
		if len(group) < 2 || !isLower(group[0]) || !isDigit(group[len(group)-1]) {
			return "", false
		}
		code = code[:k]
	}
	r, ok := awsZoneIDRegions[code]
	return r, ok
}
