package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"
)

// A price stream writes the rows that go straight into prices (see
// Writer.direct) with one INSERT ... SELECT over a table function that
// DuckDB pulls batches from, instead of an Appender row by row: the
// values go into DuckDB's vectors without being boxed as driver.Values,
// and DuckDB fills, compresses and writes the row groups on its own
// thread while the parser goes on with the next batch on another. A fresh
// import of a large file is one such statement from its first row to its
// last; an import that also stages rows (a re-import, an overlap) closes
// the stream before it touches the connection otherwise.

// streamFunc is the table function's name. It is registered once per
// database and finds its stream by the id it is called with.
const streamFunc = "spotcast_price_rows"

var (
	streams   sync.Map // int64 -> *priceStream
	streamSeq atomic.Int64
)

// registerStream registers streamFunc on conn's database; a second
// registration (another Store on the same database) is harmless.
func registerStream(conn *sql.Conn) error {
	integer, err := duckdb.NewTypeInfo(duckdb.TYPE_INTEGER)
	if err != nil {
		return err
	}
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	if err != nil {
		return err
	}
	double, err := duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
	if err != nil {
		return err
	}
	cols := []duckdb.ColumnInfo{{Name: "pool_id", T: integer}, {Name: "ts", T: bigint}, {Name: "price", T: double}, {Name: "prov_id", T: integer}}
	err = duckdb.RegisterTableUDF(conn, streamFunc, duckdb.ParallelChunkTableFunction{
		Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{bigint}},
		BindArguments: func(_ map[string]any, args ...any) (duckdb.ParallelChunkTableSource, error) {
			id, _ := args[0].(int64)
			st, ok := streams.Load(id)
			if !ok {
				return nil, fmt.Errorf("%s(%d): no such price stream", streamFunc, id)
			}
			return streamSource{st.(*priceStream), cols}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", streamFunc, err)
	}
	return nil
}

// priceStream is one running INSERT INTO prices fed batch by batch.
// DuckDB runs the INSERT on every core (the import's connection does not
// preserve insertion order, which prices do not need: every reader orders
// by time), each thread taking a vector's worth of rows at a time.
type priceStream struct {
	id      int64
	ctx     context.Context
	batches chan *priceBatch
	recycle func(*priceBatch)
	dead    chan struct{} // closed when the INSERT has returned
	err     error         // its error, set before dead is closed

	mu   sync.Mutex
	cur  *priceBatch // the batch rows are handed out from, nil when all are
	pos  int         // its next row
	rows atomic.Int64
}

// streamSource adapts a priceStream to duckdb.ParallelChunkTableSource.
type streamSource struct {
	st   *priceStream
	cols []duckdb.ColumnInfo
}

func (s streamSource) ColumnInfos() []duckdb.ColumnInfo     { return s.cols }
func (s streamSource) Cardinality() *duckdb.CardinalityInfo { return nil }
func (s streamSource) NewLocalState() any                   { return &struct{}{} }
func (s streamSource) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{MaxThreads: runtime.GOMAXPROCS(0)}
}

// take hands out the next rows [lo, hi) of a batch, waiting for a batch
// when the current one is all handed out; b is nil once the stream is
// closed.
func (st *priceStream) take() (b *priceBatch, lo, hi int, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cur == nil {
		select {
		case next, ok := <-st.batches:
			if !ok {
				return nil, 0, 0, nil
			}
			next.unread.Store(int64(len(next.pool)))
			st.cur, st.pos = next, 0
		case <-st.ctx.Done():
			return nil, 0, 0, st.ctx.Err()
		}
	}
	b, lo = st.cur, st.pos
	hi = min(lo+duckdb.GetDataChunkCapacity(), len(b.pool))
	st.pos = hi
	if hi == len(b.pool) {
		// All handed out: the thread that copies the last rows gives the
		// batch back, after which it must not be looked at here.
		st.cur = nil
	}
	return b, lo, hi, nil
}

// FillChunk copies up to a vector's worth of rows into the chunk; the
// thread that copies a batch's last rows gives the batch back. A chunk of
// size 0 ends the INSERT (the stream was closed).
func (s streamSource) FillChunk(_ any, ch duckdb.DataChunk) error {
	st := s.st
	b, lo, hi, err := st.take()
	if err != nil || b == nil {
		if err == nil {
			err = ch.SetSize(0)
		}
		return err
	}
	n := hi - lo
	for i := lo; i < hi; i++ {
		r := i - lo
		if err := duckdb.SetChunkValue(ch, 0, r, b.pool[i]); err != nil {
			return err
		}
		if err := duckdb.SetChunkValue(ch, 1, r, b.ts[i]); err != nil {
			return err
		}
		if err := duckdb.SetChunkValue(ch, 2, r, b.price[i]); err != nil {
			return err
		}
		if err := duckdb.SetChunkValue(ch, 3, r, b.prov[i]); err != nil {
			return err
		}
	}
	st.rows.Add(int64(n))
	if b.unread.Add(-int64(n)) == 0 {
		st.recycle(b)
	}
	return ch.SetSize(n)
}

// startStream runs the INSERT on its own goroutine over conn, which the
// caller must not use until close returns.
func startStream(ctx context.Context, conn driver.Conn, recycle func(*priceBatch)) *priceStream {
	st := &priceStream{
		id: streamSeq.Add(1), ctx: ctx, recycle: recycle,
		batches: make(chan *priceBatch, 1), dead: make(chan struct{}),
	}
	streams.Store(st.id, st)
	go func() {
		defer close(st.dead)
		defer streams.Delete(st.id)
		ex := conn.(driver.ExecerContext)
		_, err := ex.ExecContext(ctx, `SET SESSION preserve_insertion_order = false`, nil)
		if err == nil {
			_, err = ex.ExecContext(ctx, `INSERT INTO prices (pool_id, ts, price, prov_id)
				SELECT pool_id, make_timestamp(ts), price, prov_id FROM `+streamFunc+`(`+strconv.FormatInt(st.id, 10)+`)`, nil)
			if _, rerr := ex.ExecContext(context.WithoutCancel(ctx), `RESET SESSION preserve_insertion_order`, nil); err == nil {
				err = rerr
			}
		}
		if err != nil {
			st.err = fmt.Errorf("insert prices: %w", err)
		}
	}()
	return st
}

// errStreamEnded: the INSERT returned before the stream was closed.
var errStreamEnded = errors.New("insert prices ended early")

// send hands a batch of direct change-series rows to the INSERT.
func (st *priceStream) send(b *priceBatch) error {
	select {
	case st.batches <- b:
		return nil
	case <-st.dead:
		if st.err != nil {
			return st.err
		}
		return errStreamEnded
	}
}

// close ends the INSERT, waits for it and gives back the batches it did
// not take. It returns the rows inserted.
func (st *priceStream) close() (int64, error) {
	close(st.batches)
	<-st.dead
	for b := range st.batches {
		st.recycle(b)
	}
	return st.rows.Load(), st.err
}
