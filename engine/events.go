package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spotcast/spotcast/ingest/eventbridge"
	"github.com/spotcast/spotcast/market"
	"github.com/spotcast/spotcast/storage"
)

// EventsResponse says what an events POST stored.
type EventsResponse struct {
	RowsRead   int64 `json:"rows_read"`
	RowsStored int64 `json:"rows_stored"`
	Duplicates int64 `json:"duplicates"`
	// Skipped counts events with nothing to store (other detail types).
	Skipped int64  `json:"skipped"`
	RunID   int64  `json:"run_id"`
	Source  string `json:"source"`
}

// errMalformed marks a parse failure inside the import, to tell it from a
// store failure.
var errMalformed = errors.New("malformed events")

// IngestEvents parses EventBridge events (one JSON object, an array, or one
// object per line) and stores them in one transaction: one bad event
// stores nothing.
func (e *Engine) IngestEvents(ctx context.Context, body []byte) (EventsResponse, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return EventsResponse{}, &Error{Code: CodeMalformedBody, Param: "body", Message: "body: empty; send EventBridge events as JSON"}
	}
	var out EventsResponse
	st, err := e.store.Import(ctx, storage.RunInfo{Kind: "events", Source: market.SourceEventBridge, Path: "POST /v1/events", Format: "eventbridge"},
		func(w *storage.Writer) error {
			t, err := eventbridge.ParseOptions(bytes.NewReader(body), "body", w, eventbridge.Options{Now: e.now})
			out.RowsRead, out.Skipped = t.Read, t.Skipped
			if err != nil {
				return fmt.Errorf("%w: %w", errMalformed, err)
			}
			return nil
		})
	if errors.Is(err, errMalformed) {
		msg := err.Error()
		if i := bytes.Index([]byte(msg), []byte(errMalformed.Error()+": ")); i >= 0 {
			msg = msg[i+len(errMalformed.Error())+2:]
		}
		return EventsResponse{}, &Error{Code: CodeMalformedBody, Param: "body", Message: "body: " + msg + " (nothing was stored)", Err: err}
	}
	if err != nil {
		return EventsResponse{}, fmt.Errorf("store events: %w", err)
	}
	out.RowsStored, out.Duplicates, out.RunID = st.Stored(), st.Added()-st.Stored(), st.RunID
	out.Source = market.SourceEventBridge
	return out, nil
}
