// Package benchbase is a BASELINE used only by the benchmarks in
// bench_test.go. It is NOT infermetrics code and is not used by the library.
//
// It reproduces the common design of public openai-go streaming middleware:
// the response body is replaced by the read end of an io.Pipe, and a
// goroutine per stream copies the upstream body into the pipe while
// splitting it into SSE lines and re-parsing every data event into a
// map[string]any with encoding/json, to find the first token (and the
// usage). It exists so that the benchmarks can compare infermetrics'
// in-line observer with that approach on the same workload.
package benchbase

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openai/openai-go/v3/option"
)

// Result is what the baseline measures for one stream.
type Result struct {
	Start      time.Time
	FirstToken time.Duration
	Chunks     int
	Usage      map[string]any
}

// Middleware returns the baseline openai-go middleware. done, when not nil,
// is called once per streamed response after the upstream body ended.
func Middleware(done func(*Result)) option.Middleware {
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		start := time.Now()
		resp, err := next(req)
		if err != nil || resp == nil || resp.Body == nil ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			return resp, err
		}
		pr, pw := io.Pipe()
		upstream := resp.Body
		res := &Result{Start: start}
		go func() {
			defer upstream.Close()
			r := bufio.NewReader(io.TeeReader(upstream, pw))
			for {
				line, err := r.ReadBytes('\n')
				if len(line) > 0 {
					inspect(res, line)
				}
				if err != nil {
					if err == io.EOF {
						pw.Close()
					} else {
						pw.CloseWithError(err)
					}
					break
				}
			}
			if done != nil {
				done(res)
			}
		}()
		resp.Body = pr
		return resp, nil
	}
}

func inspect(res *Result, line []byte) {
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("[DONE]")) {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return
	}
	res.Chunks++
	if u, ok := m["usage"].(map[string]any); ok {
		res.Usage = u
	}
	if res.FirstToken != 0 {
		return
	}
	choices, _ := m["choices"].([]any)
	for _, c := range choices {
		cm, _ := c.(map[string]any)
		delta, _ := cm["delta"].(map[string]any)
		if s, _ := delta["content"].(string); s != "" {
			res.FirstToken = time.Since(res.Start)
			return
		}
	}
}
