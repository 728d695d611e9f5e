package main

import (
	"log/slog"

	"github.com/spotcast/spotcast/api"
	"github.com/spotcast/spotcast/config"
	"github.com/spotcast/spotcast/engine"
	"github.com/spotcast/spotcast/report"
)

// serveWorkloads are the workloads whose recommended pools the exporter
// publishes: the config's report.workloads, else the report's examples
// (named "example: ..."), so the dashboard's table shows what it would say.
func serveWorkloads(rc config.Report, log *slog.Logger) []api.Workload {
	ws := report.ExampleWorkloads()
	if rs, err := report.SettingsFrom(rc); err == nil && len(rs.Workloads) > 0 {
		ws = rs.Workloads
	} else {
		log.Info("no workloads configured (report.workloads): the recommended-pools metric ranks the examples")
	}
	var out []api.Workload
	for _, w := range ws {
		out = append(out, api.Workload{Name: w.Name, Placement: engine.PlacementRequest{Cloud: w.Cloud, GPUModel: w.GPUModel,
			MinGPUMemoryGiB: w.MinGPUMemoryGiB, GPUsPerNode: w.GPUsPerNode, Nodes: w.Nodes, Regions: w.Regions,
			RunLength: w.RunLength, CheckpointCost: w.CheckpointCost, RestartCost: w.RestartCost}})
	}
	return out
}
