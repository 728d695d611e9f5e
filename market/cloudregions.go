package market

import "slices"

// Regions lists a cloud's known regions, sorted ("" for an unknown cloud:
// nil).
func Regions(cloud string) []string {
	var out []string
	for r := range knownRegions[cloud] {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
