package market

import "testing"

func TestRegions(t *testing.T) {
	for _, tc := range []struct {
		cloud, region, canonical string
		ok                       bool
	}{
		{AWS, "us-east-1", "us-east-1", true},
		{AWS, "mx-central-1", "mx-central-1", true},
		{AWS, "us-east1", "", false},
		{GCP, "us-east1", "us-east1", true},
		{GCP, "us-east-1", "", false},
		{Azure, "westeurope", "westeurope", true},
		{Azure, "eu-west", "westeurope", true},
		{Azure, "us-west-2", "westus2", true},
		{Azure, "mars", "", false},
		{"oracle", "us-ashburn-1", "", false},
	} {
		got, ok := CanonicalRegion(tc.cloud, tc.region)
		if got != tc.canonical || ok != tc.ok {
			t.Errorf("CanonicalRegion(%s, %s) = %q, %v; want %q, %v", tc.cloud, tc.region, got, ok, tc.canonical, tc.ok)
		}
	}
	for region, cloud := range map[string]string{"us-west-2": AWS, "europe-west4": GCP, "eastus": Azure, "nowhere": ""} {
		if got := CloudOfRegion(region); got != cloud {
			t.Errorf("CloudOfRegion(%s) = %q, want %q", region, got, cloud)
		}
	}
	for loc, parent := range map[string]string{
		"us-east-1-bos-1": "us-east-1", "us-west-2-wl1": "us-west-2", "ap-northeast-1-wl1-kix1": "ap-northeast-1",
		"us-east-1": "", "us-east-1-bos": "", "xx-east-1-bos-1": "", "us-east-1-wl1-": "",
	} {
		got, ok := AWSLocalZoneGroup(loc)
		if got != parent || ok != (parent != "") {
			t.Errorf("AWSLocalZoneGroup(%s) = %q, %v; want %q", loc, got, ok, parent)
		}
	}
}

func TestRegionOfZone(t *testing.T) {
	tests := []struct{ zone, want string }{
		{"us-east-1a", "us-east-1"},
		{"eu-west-1c", "eu-west-1"},
		{"us-east-1-bos-1a", "us-east-1"},
		{"us-west-2-lax-1b", "us-west-2"},
		{"us-central1-a", "us-central1"},
		{"", ""},
		{"us-east-1", ""},
	}
	for _, tt := range tests {
		got, err := RegionOfZone(tt.zone)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("RegionOfZone(%q) = %q, %v; want %q", tt.zone, got, err, tt.want)
		}
	}
}

func TestKnownZone(t *testing.T) {
	for zone, want := range map[string]bool{
		"us-east-1a": true, "us-east-1f": true, "us-east-1q": false, "us-east-1g": false,
		"eu-west-1c": true, "eu-west-1z": false, "us-west-2d": true, "mx-central-1a": true,
		"us-west-2-lax-1a": true, "us-west-2-lax-1b": true, "us-east-1-bos-1a": true,
		"us-east-1-wl1-bos-wlz-1": true, "xx-east-1a": false, "us-east-1": false, "": false,
	} {
		if got := KnownZone(AWS, zone); got != want {
			t.Errorf("KnownZone(aws, %q) = %v, want %v", zone, got, want)
		}
	}
	if r, err := RegionOfZone("us-east-1-wl1-bos-wlz-1"); err != nil || r != "us-east-1" {
		t.Errorf("RegionOfZone(wavelength) = %q, %v", r, err)
	}
}
