package files

import (
	"bytes"
	"io"
	"runtime"
	"sync"
)

// Parallel line parsing. A large line-oriented file is cut into blocks of
// whole lines; workers parse the blocks on every core, and the rows come
// back in file order to one goroutine that applies the bad-row policy and
// hands them to the sink, which needs them in order (it tracks each
// pool's time order) and is not safe for concurrent use. Reading (and
// hashing) the input, parsing and storing thus overlap.

// lineBlockSize is how much of the input one block holds: large enough
// that handing a block over costs nothing per row, small enough that the
// blocks in flight stay a few MB.
const lineBlockSize = 1 << 20

// lineWorker parses one line of a block into rows appended to out. rel
// is the line's number within the block (1-based); the worker keeps it
// in its rows so errors can name the file's line.
type lineWorker[R any] func(line []byte, rel int32, out []R) []R

// lineBlock is whole lines of the input (data), or how the input ended
// after the blocks before it (err; long when a line exceeded bufSize).
type lineBlock[R any] struct {
	data  []byte
	lines int64 // lines in data, blank ones included
	err   error
	long  bool
	// longAt is the line (within the block) longer than bufSize that a
	// worker stopped at, 0 for none.
	longAt int32
	res    chan []R // the block's rows, once a worker has parsed it
}

// parallelLines reads r to its end in blocks, parses every non-blank line
// with a worker made by newWorker (one per core; each keeps its own
// caches), and calls emit on the rows in file order with the file's line
// number of each (the block's first line is firstLine). rel returns a
// row's line within its block. It returns the first error of emit or of
// reading; a line longer than bufSize is errTooLong at line (reported
// through tooLong).
func parallelLines[R any](r io.Reader, firstLine int64, newWorker func() lineWorker[R], rel func(*R) int32,
	emit func(line int64, row *R) error, tooLong func(line int64) error) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *lineBlock[R], workers)
	order := make(chan *lineBlock[R], 2*workers+2)
	free := make(chan []byte, 3*workers+4)
	rowsFree := make(chan []R, 3*workers+4)
	stop := make(chan struct{})
	var wg sync.WaitGroup

	wg.Add(1)
	go func() { // reader
		defer wg.Done()
		defer close(order)
		defer close(work)
		var carry []byte
		for {
			var buf []byte
			select {
			case buf = <-free:
			default:
				buf = make([]byte, 0, lineBlockSize+bufSize)
			}
			buf = append(buf[:0], carry...)
			n, err := io.ReadFull(r, buf[len(buf):lineBlockSize+len(carry)])
			buf = buf[:len(buf)+n]
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			blk := &lineBlock[R]{res: make(chan []R, 1)}
			if err == nil {
				// Keep the partial last line for the next block.
				cut := bytes.LastIndexByte(buf, '\n') + 1
				if cut == 0 && len(buf) >= bufSize {
					blk.long = true
				}
				carry = append(carry[:0], buf[cut:]...)
				if len(carry) >= bufSize {
					// The partial line is already too long: say so after
					// the lines before it.
					blk.long = true
				}
				buf = buf[:cut]
			} else {
				carry = carry[:0]
				if err != io.EOF {
					// A read error: the lines before it count, the part
					// of a line it cut does not.
					buf = buf[:bytes.LastIndexByte(buf, '\n')+1]
					blk.err = err
				}
			}
			blk.data = buf
			select {
			case order <- blk:
			case <-stop:
				return
			}
			select {
			case work <- blk:
			case <-stop:
				return
			}
			if err != nil || blk.long {
				return
			}
		}
	}()

	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parse := newWorker()
			for blk := range work {
				var rows []R
				select {
				case rows = <-rowsFree:
				default:
				}
				rows = rows[:0]
				data := blk.data
				var line int32
				for len(data) > 0 {
					line++
					var l []byte
					if i := bytes.IndexByte(data, '\n'); i >= 0 {
						l, data = data[:i], data[i+1:]
					} else {
						l, data = data, nil
					}
					if len(l) >= bufSize {
						blk.longAt = line
						break
					}
					if n := len(l); n > 0 && l[n-1] == '\r' {
						l = l[:n-1]
					}
					if len(l) > 0 {
						rows = parse(l, line, rows)
					}
				}
				blk.lines = int64(line)
				select {
				case free <- blk.data[:0]:
				default:
				}
				blk.data = nil
				blk.res <- rows
			}
		}()
	}

	finish := func(err error) error {
		close(stop)
		// Let the reader and the workers go: drain what is in flight.
		go func() {
			for blk := range order {
				<-blk.res
			}
		}()
		wg.Wait()
		return err
	}
	line := firstLine - 1
	for blk := range order {
		rows := <-blk.res
		for i := range rows {
			if err := emit(line+int64(rel(&rows[i])), &rows[i]); err != nil {
				return finish(err)
			}
		}
		if blk.longAt > 0 {
			return finish(tooLong(line + int64(blk.longAt)))
		}
		line += blk.lines
		if blk.long {
			return finish(tooLong(line + 1))
		}
		if blk.err != nil {
			return finish(blk.err)
		}
		select {
		case rowsFree <- rows:
		default:
		}
	}
	return finish(nil)
}
