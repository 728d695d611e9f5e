// Package httpfetch GETs documents from public HTTP APIs for the live sources
// (the AWS spot price feed, the Azure Retail Prices API): bounded bodies,
// retries with exponential backoff on network errors, 429 and 5xx
// (honouring Retry-After), and errors that say what the server answered.
package httpfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnreachable marks a failure to get any answer but an error from the
// server after every retry: the network, DNS, a timeout, or a server that
// kept answering 429 or 5xx. Callers fall back on it; a document that
// arrives but is wrong is a different failure.
var ErrUnreachable = errors.New("unreachable")

// Defaults of Client.
const (
	DefaultRetries  = 3
	DefaultBackoff  = time.Second
	DefaultMaxBytes = 64 << 20
	DefaultTimeout  = 60 * time.Second
	// maxBackoff caps one wait, Retry-After included, so a server cannot
	// park a poll for hours.
	maxBackoff = 2 * time.Minute
)

// Client GETs with retries. The zero value uses the defaults.
type Client struct {
	// HTTP is the client used (nil: one with DefaultTimeout per request).
	HTTP *http.Client
	// Retries is how many times a failed GET is tried again (0: the
	// default; negative: never).
	Retries int
	// Backoff is the first wait; each retry doubles it (0: the default).
	Backoff time.Duration
	// MaxBytes bounds a response body (0: the default); a longer one is
	// an error, not a truncated document.
	MaxBytes int64
	// UserAgent is sent when not empty.
	UserAgent string
	// Sleep waits between attempts (nil: a timer that ctx cancels).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Response is a successful GET.
type Response struct {
	Body     []byte
	Header   http.Header
	Attempts int
}

// StatusError is an HTTP answer other than 200, with the start of its body.
type StatusError struct {
	URL    string
	Status string
	Code   int
	Body   string // up to 512 bytes of the body, for the message
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", e.URL, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// retryable: throttling and server errors; other answers are final.
func (e *StatusError) retryable() bool {
	return e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout || e.Code >= 500
}

// Get fetches url, retrying as Client says. The error of a request that
// never succeeded wraps ErrUnreachable when every attempt failed in a
// retryable way.
func (c Client) Get(ctx context.Context, url string) (Response, error) {
	retries, backoff := c.Retries, c.Backoff
	if retries == 0 {
		retries = DefaultRetries
	}
	if retries < 0 {
		retries = 0
	}
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var last error
	for attempt := 1; ; attempt++ {
		resp, wait, err := c.once(ctx, url)
		if err == nil {
			resp.Attempts = attempt
			return resp, nil
		}
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		var se *StatusError
		if errors.As(err, &se) && !se.retryable() {
			return Response{}, err
		}
		if errors.Is(err, errTooLarge) {
			return Response{}, err
		}
		last = err
		if attempt > retries {
			return Response{}, fmt.Errorf("%w after %d attempts: %w", ErrUnreachable, attempt, last)
		}
		d := backoff << (attempt - 1)
		if wait > d {
			d = wait
		}
		if d > maxBackoff {
			d = maxBackoff
		}
		if err := sleep(ctx, d); err != nil {
			return Response{}, err
		}
	}
}

var errTooLarge = errors.New("response body too large")

// once is one attempt; wait is the server's Retry-After, if any.
func (c Client) once(ctx context.Context, url string) (Response, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Response{}, 0, err
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Response{}, retryAfter(resp.Header.Get("Retry-After")), &StatusError{
			URL: url, Status: resp.Status, Code: resp.StatusCode, Body: printable(b),
		}
	}
	max := c.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return Response{}, 0, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	if int64(len(body)) > max {
		return Response{}, 0, fmt.Errorf("GET %s: %w (over %d bytes)", url, errTooLarge, max)
	}
	return Response{Body: body, Header: resp.Header}, 0, nil
}

// retryAfter reads a Retry-After of seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// printable keeps a body excerpt fit for one error line.
func printable(b []byte) string {
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes, not text)", len(b))
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
