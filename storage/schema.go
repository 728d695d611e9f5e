package storage

// migrations are the schema's forward-only steps: migrations[i] takes a
// store from version i to version i+1. A step is never edited once
// released; a change to the schema is a new step appended here.
var migrations = []string{
	// v1: the base schema.
	//
	// prices holds only numbers (pool id, time, price, the optional daily
	// bar and a provenance id) so bulk appends and scans stay cheap; the
	// strings live once in pools and provenance and the spot_prices view
	// puts them back together. prices has no PRIMARY KEY: an ART index
	// over (pool_id, ts) slows bulk appends several-fold, and Import's
	// merge de-duplicates with an anti join instead.
	`
CREATE TABLE schema_version (
	version    INTEGER NOT NULL,
	applied_at TIMESTAMP NOT NULL
);
CREATE TABLE ingest_runs (
	id          BIGINT PRIMARY KEY,
	kind        VARCHAR NOT NULL,
	source      VARCHAR NOT NULL,
	path        VARCHAR NOT NULL,
	format      VARCHAR NOT NULL,
	sha256      VARCHAR NOT NULL,
	started     TIMESTAMP NOT NULL,
	finished    TIMESTAMP NOT NULL,
	rows_stored BIGINT NOT NULL
);
CREATE TABLE provenance (
	id         INTEGER PRIMARY KEY,
	run_id     BIGINT NOT NULL,
	source     VARCHAR NOT NULL,
	fetched_at TIMESTAMP NOT NULL
);
CREATE TABLE pools (
	id            INTEGER PRIMARY KEY,
	cloud         VARCHAR NOT NULL,
	region        VARCHAR NOT NULL,
	zone          VARCHAR NOT NULL,
	instance_type VARCHAR NOT NULL,
	product       VARCHAR NOT NULL,
	resolution    VARCHAR NOT NULL,
	UNIQUE (cloud, region, zone, instance_type, product, resolution)
);
CREATE TABLE prices (
	pool_id INTEGER NOT NULL,
	ts      TIMESTAMP NOT NULL,
	price   DOUBLE NOT NULL,
	open    DOUBLE,
	high    DOUBLE,
	low     DOUBLE,
	close   DOUBLE,
	prov_id INTEGER NOT NULL
);
CREATE TABLE advisor (
	region        VARCHAR NOT NULL,
	os            VARCHAR NOT NULL,
	instance_type VARCHAR NOT NULL,
	bucket        TINYINT NOT NULL,
	savings_pct   SMALLINT NOT NULL,
	snapshot      DATE NOT NULL,
	source        VARCHAR NOT NULL,
	fetched_at    TIMESTAMP NOT NULL
);
CREATE TABLE instance_types (
	cloud            VARCHAR NOT NULL,
	name             VARCHAR NOT NULL,
	vcpu             INTEGER NOT NULL,
	memory_gib       DOUBLE NOT NULL,
	arch             VARCHAR NOT NULL,
	gpu_model        VARCHAR NOT NULL,
	gpu_manufacturer VARCHAR NOT NULL,
	gpu_count        INTEGER NOT NULL,
	gpu_memory_gib   DOUBLE NOT NULL,
	source           VARCHAR NOT NULL,
	fetched_at       TIMESTAMP NOT NULL
);
CREATE TABLE ondemand_prices (
	cloud         VARCHAR NOT NULL,
	region        VARCHAR NOT NULL,
	instance_type VARCHAR NOT NULL,
	product       VARCHAR NOT NULL,
	date          DATE NOT NULL,
	price         DOUBLE NOT NULL,
	source        VARCHAR NOT NULL,
	fetched_at    TIMESTAMP NOT NULL
);
CREATE TABLE placement_scores (
	region          VARCHAR NOT NULL,
	zone            VARCHAR NOT NULL,
	instance_types  VARCHAR NOT NULL,
	requirements    VARCHAR NOT NULL,
	target_capacity INTEGER NOT NULL,
	capacity_unit   VARCHAR NOT NULL,
	score           TINYINT NOT NULL,
	ts              TIMESTAMP NOT NULL,
	source          VARCHAR NOT NULL,
	fetched_at      TIMESTAMP NOT NULL
);
CREATE TABLE events (
	ts            TIMESTAMP NOT NULL,
	cloud         VARCHAR NOT NULL,
	region        VARCHAR NOT NULL,
	zone          VARCHAR NOT NULL,
	instance_type VARCHAR NOT NULL,
	instance_id   VARCHAR NOT NULL,
	kind          VARCHAR NOT NULL,
	count         INTEGER NOT NULL,
	event_id      VARCHAR NOT NULL,
	source        VARCHAR NOT NULL,
	fetched_at    TIMESTAMP NOT NULL
);
CREATE TABLE watermarks (
	source     VARCHAR PRIMARY KEY,
	ts         TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE VIEW spot_prices AS
SELECT p.cloud, p.region, p.zone, p.instance_type, p.product,
       x.ts, x.price, v.source, v.fetched_at
FROM prices x
JOIN pools p ON p.id = x.pool_id
JOIN provenance v ON v.id = x.prov_id;
`,
	// v2: ingest_runs keeps how many rows the run was handed and the
	// per-table breakdown (JSON), so "how many duplicates did that import
	// have" is answerable after the fact.
	`
ALTER TABLE ingest_runs ADD COLUMN rows_added BIGINT DEFAULT 0;
ALTER TABLE ingest_runs ADD COLUMN tables VARCHAR DEFAULT '{}';
`,
	// Sources beyond AWS: capacity_signals holds the other clouds' public
	// interruption and capacity signals (Azure eviction-rate buckets, GCP
	// preemption rates, obtainability, estimated uptime) per cloud, which
	// the hazard prior reads the way it reads advisor buckets; zone_ids
	// pairs AWS zone names with zone IDs (names differ per account, IDs do
	// not); placement_scores.scale_max keeps the scale a score was given
	// on (3 for the single-type scores AWS capped, 10 otherwise).
	`
CREATE TABLE capacity_signals (
	cloud           VARCHAR NOT NULL,
	region          VARCHAR NOT NULL,
	zone            VARCHAR NOT NULL,
	instance_type   VARCHAR NOT NULL,
	os              VARCHAR NOT NULL,
	kind            VARCHAR NOT NULL,
	value           DOUBLE NOT NULL,
	value_high      DOUBLE NOT NULL,
	label           VARCHAR NOT NULL,
	target_capacity INTEGER NOT NULL,
	period_start    TIMESTAMP NOT NULL,
	ts              TIMESTAMP NOT NULL,
	source          VARCHAR NOT NULL,
	fetched_at      TIMESTAMP NOT NULL
);
CREATE TABLE zone_ids (
	cloud      VARCHAR NOT NULL,
	region     VARCHAR NOT NULL,
	zone       VARCHAR NOT NULL,
	zone_id    VARCHAR NOT NULL,
	source     VARCHAR NOT NULL,
	fetched_at TIMESTAMP NOT NULL
);
ALTER TABLE placement_scores ADD COLUMN scale_max TINYINT DEFAULT 10;
`,
	// Every row says which import wrote it, so rows that no committed
	// import owns (left by a crash during COMMIT) can be found and removed:
	// prices through provenance.run_id, the other tables through run_id
	// (NULL on rows written before v3). import_journal lists the imports
	// that have started and not yet committed or rolled back; a row left
	// there means a process died mid-import.
	`
ALTER TABLE advisor ADD COLUMN run_id BIGINT;
ALTER TABLE instance_types ADD COLUMN run_id BIGINT;
ALTER TABLE ondemand_prices ADD COLUMN run_id BIGINT;
ALTER TABLE placement_scores ADD COLUMN run_id BIGINT;
ALTER TABLE events ADD COLUMN run_id BIGINT;
ALTER TABLE capacity_signals ADD COLUMN run_id BIGINT;
ALTER TABLE zone_ids ADD COLUMN run_id BIGINT;
CREATE TABLE import_journal (
	run_id  BIGINT PRIMARY KEY,
	path    VARCHAR NOT NULL,
	started TIMESTAMP NOT NULL,
	pid     INTEGER NOT NULL
);
`,
	// forecasts: the persisted forecasts of every pool. A refit writes one
	// forecast_runs row and a pool_forecasts row per pool it fitted, in one
	// transaction; a pool's served forecast is its row of the newest run
	// that fitted it (older rows are deleted by the run that supersedes
	// them). points, first_ts, last_ts and last_price are the pool's data
	// when it was fitted (a later refit skips the pools whose data did not
	// change); inputs fingerprints the interruption signals a run read.
	// price, hazard and week hold the encoded price forecast (24 h), the
	// interruption forecast (the coming week) and, for watched pools, the
	// 168 h price forecast; error says why a pool could not be fitted.
	`
CREATE TABLE forecast_runs (
	id                     BIGINT PRIMARY KEY,
	started                TIMESTAMP NOT NULL,
	finished               TIMESTAMP NOT NULL,
	as_of                  TIMESTAMP NOT NULL,
	kind                   VARCHAR NOT NULL,
	price_model            VARCHAR NOT NULL,
	hazard_model           VARCHAR NOT NULL,
	price_horizon_seconds  BIGINT NOT NULL,
	hazard_horizon_seconds BIGINT NOT NULL,
	pools                  BIGINT NOT NULL,
	refit                  BIGINT NOT NULL,
	failed                 BIGINT NOT NULL,
	seconds                DOUBLE NOT NULL,
	inputs                 VARCHAR NOT NULL
);
CREATE TABLE pool_forecasts (
	run_id     BIGINT NOT NULL,
	pool_id    INTEGER NOT NULL,
	generated  TIMESTAMP NOT NULL,
	points     BIGINT NOT NULL,
	first_ts   TIMESTAMP,
	last_ts    TIMESTAMP,
	last_price DOUBLE NOT NULL,
	data_from  TIMESTAMP,
	data_until TIMESTAMP,
	source     VARCHAR NOT NULL,
	simulated  BOOLEAN NOT NULL,
	model      VARCHAR NOT NULL,
	on_demand  DOUBLE NOT NULL,
	od_source  VARCHAR NOT NULL,
	error      VARCHAR NOT NULL,
	price      BLOB,
	hazard     BLOB,
	week       BLOB
);
`,
}

// SchemaVersion is the schema version this code writes.
var SchemaVersion = len(migrations)

// stagingDDL creates the per-import temporary tables of the prices;
// stagingTablesDDL adds those of the other tables. They mirror the real
// tables' natural-key and value columns; Import drops them at the end.
// Change-series prices and daily bars stage apart so the common change
// rows carry no NULL bar columns (each NULL costs the Appender a call
// into DuckDB); their times stage as Unix microseconds (BIGINT), which
// the Appender takes more cheaply than a time.Time.
const stagingDDL = stagePricesDDL

// stagePricesDDL (re)creates the price staging tables empty: Import's
// chunk merges drop a merged chunk this way.
const stagePricesDDL = `
CREATE OR REPLACE TEMP TABLE stage_prices (pool_id INTEGER, ts BIGINT, price DOUBLE, prov_id INTEGER);
CREATE OR REPLACE TEMP TABLE stage_bars (
	pool_id INTEGER, ts BIGINT, price DOUBLE,
	open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, prov_id INTEGER);
`

const dropStagingDDL = `
DROP TABLE IF EXISTS temp.stage_prices;
DROP TABLE IF EXISTS temp.stage_bars;
DROP TABLE IF EXISTS temp.stage_advisor;
DROP TABLE IF EXISTS temp.stage_instance_types;
DROP TABLE IF EXISTS temp.stage_ondemand_prices;
DROP TABLE IF EXISTS temp.stage_placement_scores;
DROP TABLE IF EXISTS temp.stage_events;
DROP TABLE IF EXISTS temp.stage_capacity_signals;
DROP TABLE IF EXISTS temp.stage_zone_ids;
`

// mergeSQL moves each staging table into its real table: one row per
// natural key (the first appended wins), and only keys not yet stored,
// each row owned by the import's run ($1).
// The order matters only for reporting; the statements are independent.
var mergeSQL = []struct{ table, sql string }{
	{"advisor", `
INSERT INTO advisor BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY region, os, instance_type, snapshot ORDER BY rowid) AS rn
	FROM temp.stage_advisor) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM advisor t
	WHERE t.region = s.region AND t.os = s.os AND t.instance_type = s.instance_type AND t.snapshot = s.snapshot)`},
	{"instance_types", `
INSERT INTO instance_types BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY cloud, name, source ORDER BY rowid) AS rn
	FROM temp.stage_instance_types) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM instance_types t
	WHERE t.cloud = s.cloud AND t.name = s.name AND t.source = s.source)`},
	{"ondemand_prices", `
INSERT INTO ondemand_prices BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY cloud, region, instance_type, product, date ORDER BY rowid) AS rn
	FROM temp.stage_ondemand_prices) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM ondemand_prices t
	WHERE t.cloud = s.cloud AND t.region = s.region AND t.instance_type = s.instance_type
	  AND t.product = s.product AND t.date = s.date)`},
	{"placement_scores", `
INSERT INTO placement_scores BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY region, zone, instance_types, requirements, target_capacity, capacity_unit, ts ORDER BY rowid) AS rn
	FROM temp.stage_placement_scores) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM placement_scores t
	WHERE t.region = s.region AND t.zone = s.zone AND t.instance_types = s.instance_types
	  AND t.requirements = s.requirements AND t.target_capacity = s.target_capacity
	  AND t.capacity_unit = s.capacity_unit AND t.ts = s.ts)`},
	{"events", `
INSERT INTO events BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY cloud, region, zone, instance_type, instance_id, kind, ts, event_id ORDER BY rowid) AS rn
	FROM temp.stage_events) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM events t
	WHERE t.cloud = s.cloud AND t.region = s.region AND t.zone = s.zone
	  AND t.instance_type = s.instance_type AND t.instance_id = s.instance_id
	  AND t.kind = s.kind AND t.ts = s.ts AND t.event_id = s.event_id)`},
	{"capacity_signals", `
INSERT INTO capacity_signals BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY cloud, region, zone, instance_type, os, kind, target_capacity, period_start, ts ORDER BY rowid) AS rn
	FROM temp.stage_capacity_signals) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM capacity_signals t
	WHERE t.cloud = s.cloud AND t.region = s.region AND t.zone = s.zone AND t.instance_type = s.instance_type
	  AND t.os = s.os AND t.kind = s.kind AND t.target_capacity = s.target_capacity
	  AND t.period_start = s.period_start AND t.ts = s.ts)`},
	{"zone_ids", `
INSERT INTO zone_ids BY NAME
SELECT s.* EXCLUDE (rn), $1::BIGINT AS run_id FROM (
	SELECT *, row_number() OVER (PARTITION BY cloud, region, zone, zone_id ORDER BY rowid) AS rn
	FROM temp.stage_zone_ids) s
WHERE s.rn = 1 AND NOT EXISTS (
	SELECT 1 FROM zone_ids t
	WHERE t.cloud = s.cloud AND t.region = s.region AND t.zone = s.zone AND t.zone_id = s.zone_id)`},
}

// stagedPrices is every staged price row in the prices table's columns.
// Change and daily rows never share a pool, so a key repeats only within
// one of the two staging tables.
const stagedPrices = `(
	SELECT pool_id, make_timestamp(ts) AS ts, price, NULL::DOUBLE AS open, NULL::DOUBLE AS high,
	       NULL::DOUBLE AS low, NULL::DOUBLE AS close, prov_id, rowid AS seq FROM temp.stage_prices
	UNION ALL
	SELECT pool_id, make_timestamp(ts) AS ts, price, open, high, low, close, prov_id, rowid AS seq FROM temp.stage_bars)`

// mergePricesSQL moves the staged prices whose (pool, ts) is not stored
// yet. The range condition on p.ts lets DuckDB skip row groups of older
// data by their min/max statistics. It is used when the Writer saw every
// pool's times strictly monotone, so the import cannot repeat a key.
const mergePricesSQL = `
INSERT INTO prices
SELECT s.pool_id, s.ts, s.price, s.open, s.high, s.low, s.close, s.prov_id
FROM ` + stagedPrices + ` s
ANTI JOIN (SELECT pool_id, ts FROM prices WHERE ts BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP) p USING (pool_id, ts)`

// mergePricesDedupSQL is mergePricesSQL for imports that may repeat a key:
// the first staged row per (pool, ts) wins.
const mergePricesDedupSQL = `
INSERT INTO prices
SELECT s.pool_id, s.ts, s.price, s.open, s.high, s.low, s.close, s.prov_id FROM (
	SELECT *, row_number() OVER (PARTITION BY pool_id, ts ORDER BY seq) AS rn
	FROM ` + stagedPrices + `) s
ANTI JOIN (SELECT pool_id, ts FROM prices WHERE ts BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP) p USING (pool_id, ts)
WHERE s.rn = 1`
