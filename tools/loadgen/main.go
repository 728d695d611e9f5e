// Command loadgen sends HTTP GET requests at a fixed rate (open loop: a
// request is sent on schedule whether or not earlier ones have answered,
// so a slow server cannot hide its latency by slowing the client down, as
// wrk's closed loop does) and prints the achieved rate and latency
// percentiles. It is how BENCHMARKS.md measures "p99 at 1,000 requests/s".
//
//	go run ./tools/loadgen -rate 1000 -duration 20s URL [URL...]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	rate := flag.Int("rate", 1000, "requests per second")
	dur := flag.Duration("duration", 20*time.Second, "how long to send")
	warm := flag.Int("warmup", 20, "requests per URL sent first and not counted")
	timeline := flag.Bool("timeline", false, "also print each second's count and percentiles (by send time), to see when a tail happens")
	flag.Parse()
	if flag.NArg() == 0 || *rate <= 0 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "usage: loadgen [-rate N] [-duration D] URL...")
		os.Exit(2)
	}
	urls := flag.Args()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	get := func(u string) (time.Duration, error) {
		start := time.Now()
		resp, err := client.Get(u)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: status %d", u, resp.StatusCode)
		}
		return time.Since(start), err
	}
	for _, u := range urls {
		for i := 0; i < *warm; i++ {
			if _, err := get(u); err != nil {
				fmt.Fprintln(os.Stderr, "loadgen: warm-up:", err)
				os.Exit(1)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var (
		mu  sync.Mutex
		lat []time.Duration
		// bySecond[i]: the latencies of the requests sent in second i.
		bySecond [][]time.Duration
		errs     int
		wg       sync.WaitGroup
		ticker   = time.NewTicker(time.Second / time.Duration(*rate))
		start    = time.Now()
		sent     int
	)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			// A ticker drops ticks when the sender falls behind; send
			// every request that is due so the offered rate holds.
			due := int(time.Since(start).Seconds() * float64(*rate))
			for ; sent < due; sent++ {
				u := urls[sent%len(urls)]
				sec := sent / *rate
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := get(u)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs++
						return
					}
					lat = append(lat, d)
					for len(bySecond) <= sec {
						bySecond = append(bySecond, nil)
					}
					bySecond[sec] = append(bySecond[sec], d)
				}()
			}
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	fmt.Printf("sent %d in %s (%.0f req/s), ok %d, errors %d\n", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), len(lat), errs)
	fmt.Printf("p50 %s  p90 %s  p99 %s  max %s\n", pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99), pct(lat, 1))
	if *timeline {
		for i, l := range bySecond {
			fmt.Printf("  second %2d: ok %4d  p50 %s  p99 %s  max %s\n", i, len(l), pct(l, 0.50), pct(l, 0.99), pct(l, 1))
		}
	}
	if errs > 0 {
		os.Exit(1)
	}
}

// pct is the p-quantile of lat (sorted in place).
func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(p*float64(len(lat))))]
}
