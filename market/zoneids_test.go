package market

import "testing"

func TestAWSRegionOfZoneID(t *testing.T) {
	for _, tc := range []struct {
		id, region string
		ok         bool
	}{
		{"use1-az4", "us-east-1", true},
		{"usw2-az1", "us-west-2", true},
		{"apne1-az1", "ap-northeast-1", true},
		{"euc1-az2", "eu-central-1", true},
		{"cac1-az1", "ca-central-1", true},
		{"usgw1-az1", "us-gov-west-1", true},
		{"cnnw1-az2", "cn-northwest-1", true},
		{"sae1-az3", "sa-east-1", true},
		{"use1-bos1-az1", "us-east-1", true},
		{"use1-az", "", false},
		{"use1-azx", "", false},
		{"xyz1-az1", "", false},
		{"us-east-1a", "", false},
		{"", "", false},
	} {
		r, ok := AWSRegionOfZoneID(tc.id)
		if r != tc.region || ok != tc.ok {
			t.Errorf("AWSRegionOfZoneID(%q) = %q, %v; want %q, %v", tc.id, r, ok, tc.region, tc.ok)
		}
	}
	// Every known region has a code, and no two share one.
	seen := map[string]string{}
	for _, r := range awsRegions {
		c, ok := awsRegionCode(r)
		if !ok {
			if r == "eusc-de-east-1" { // the sovereign-cloud partition names its regions apart
				continue
			}
			t.Errorf("region %s has no zone-ID code", r)
			continue
		}
		if o, dup := seen[c]; dup {
			t.Errorf("regions %s and %s share the code %s", o, r, c)
		}
		seen[c] = r
	}
	if r, err := RegionOfZone("use1-az4"); err != nil || r != "us-east-1" {
		t.Errorf("RegionOfZone(use1-az4) = %q, %v", r, err)
	}
}
