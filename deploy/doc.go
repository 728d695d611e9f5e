// Package deploy holds what runs spotcast beside Prometheus and Grafana:
// the Grafana dashboard (grafana/spotcast.json), the Prometheus scrape
// config, recording and alert rules (prometheus/). It has no Go code; its
// tests check the files with promtool and the dashboard's structure.
package deploy
