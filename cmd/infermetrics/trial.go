package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/infermetrics/infermetrics"
)

// A Trial is one line of trials.jsonl: one attempt, where it belongs in
// the plan, when it was scheduled and sent, and the library's Call.
type Trial struct {
	Run      string `json:"run"` // the run's id, so merged folders keep runs apart
	Target   string `json:"target"`
	Model    string `json:"model"`
	Scenario string `json:"scenario"`
	Load     string `json:"load"`
	Window   int    `json:"window"`
	// Seq numbers the cell's attempts from 0, warmups first.
	Seq    int  `json:"seq"`
	Warmup bool `json:"warmup"`
	// Interrupted is set for an attempt cut short by Ctrl-C or a cap:
	// kept, never counted.
	Interrupted bool `json:"interrupted,omitempty"`
	Simulated   bool `json:"simulated,omitempty"`

	// Scheduled is when the plan meant the request to go; Sent when it was
	// written to the connection (or, where the transport does not report
	// that, when the library saw it leave); HarnessLag the difference,
	// on the monotonic clock.
	Scheduled  time.Time `json:"scheduled"`
	Sent       time.Time `json:"sent"`
	HarnessLag float64   `json:"harness_lag_s"`
	// End is when the attempt ended (Call.Start + Call.Duration).
	End time.Time `json:"end"`
	// Useful is the Call's Useful(), kept because Err does not survive
	// JSON.
	Useful bool `json:"useful"`

	Call CallRecord `json:"call"`
}

// A CallRecord is every field of an [infermetrics.Call], durations in
// seconds, the error as its message.
type CallRecord struct {
	ResponseID        string    `json:"response_id"`
	RequestModel      string    `json:"request_model"`
	ResponseModel     string    `json:"response_model"`
	Provider          string    `json:"provider"`
	ServerAddress     string    `json:"server_address"`
	ServerPort        int       `json:"server_port"`
	API               string    `json:"api"`
	Stream            bool      `json:"stream"`
	ServiceTier       string    `json:"service_tier"`
	SystemFingerprint string    `json:"system_fingerprint"`
	Start             time.Time `json:"start"`
	// Connection setup; zero unless conn_traced.
	ConnTraced             bool      `json:"conn_traced"`
	ConnReused             bool      `json:"conn_reused"`
	DNSTime                float64   `json:"dns_time_s"`
	ConnectTime            float64   `json:"connect_time_s"`
	TLSTime                float64   `json:"tls_time_s"`
	TimeToRequestWritten   float64   `json:"time_to_request_written_s"`
	TimeToResponseHeaders  float64   `json:"time_to_response_headers_s"`
	ServerTimeToFirstToken float64   `json:"server_time_to_first_token_s"`
	IdleTime               float64   `json:"idle_time_s"`
	Idle                   string    `json:"idle"`
	TimeToFirstChunk       float64   `json:"time_to_first_chunk_s"`
	TimeToFirstToken       float64   `json:"time_to_first_token_s"`
	TimeToFirstAnswer      float64   `json:"time_to_first_answer_s"`
	TimeToLastToken        float64   `json:"time_to_last_token_s"`
	Duration               float64   `json:"duration_s"`
	MaxChunkGap            float64   `json:"max_chunk_gap_s"`
	ConsumerTime           float64   `json:"consumer_time_s"`
	ChunkTimes             []float64 `json:"chunk_times_s"`
	Chunks                 int       `json:"chunks"`
	TokenChunks            int       `json:"token_chunks"`
	AnswerChunks           int       `json:"answer_chunks"`
	InputTokens            int64     `json:"input_tokens"`
	OutputTokens           int64     `json:"output_tokens"`
	ReasoningTokens        int64     `json:"reasoning_tokens"`
	CachedInputTokens      int64     `json:"cached_input_tokens"`
	CacheWriteInputTokens  int64     `json:"cache_write_input_tokens"`
	UsageReported          bool      `json:"usage_reported"`
	OutputTokensPerSecond  float64   `json:"output_tokens_per_s"`
	FinishReason           string    `json:"finish_reason"`
	FinishReasons          []string  `json:"finish_reasons"`
	Flags                  []string  `json:"flags"`
	IgnoredParams          []string  `json:"ignored_params,omitempty"`
	Cost                   CostJSON  `json:"cost"`
	PriceKnown             bool      `json:"price_known"`
	ProviderCost           float64   `json:"provider_cost"`
	ProviderCostReported   bool      `json:"provider_cost_reported"`
	Error                  string    `json:"error,omitempty"`
	ErrorType              string    `json:"error_type,omitempty"`
	StatusCode             int       `json:"status_code"`
	Attempt                int       `json:"attempt"`
	Answer                 string    `json:"answer,omitempty"`
	Reasoning              string    `json:"reasoning,omitempty"`
}

// CostJSON is an [infermetrics.Cost] in US dollars.
type CostJSON struct {
	Input       float64 `json:"input"`
	CachedInput float64 `json:"cached_input"`
	Output      float64 `json:"output"`
	Total       float64 `json:"total"`
}

// record converts c.
func record(c *infermetrics.Call) CallRecord {
	r := CallRecord{
		ResponseID:             c.ResponseID,
		RequestModel:           c.RequestModel,
		ResponseModel:          c.ResponseModel,
		Provider:               c.Provider,
		ServerAddress:          c.ServerAddress,
		ServerPort:             c.ServerPort,
		API:                    c.API,
		Stream:                 c.Stream,
		ServiceTier:            c.ServiceTier,
		SystemFingerprint:      c.SystemFingerprint,
		Start:                  c.Start,
		ConnTraced:             c.ConnTraced,
		ConnReused:             c.ConnReused,
		DNSTime:                c.DNSTime.Seconds(),
		ConnectTime:            c.ConnectTime.Seconds(),
		TLSTime:                c.TLSTime.Seconds(),
		TimeToRequestWritten:   c.TimeToRequestWritten.Seconds(),
		TimeToResponseHeaders:  c.TimeToResponseHeaders.Seconds(),
		ServerTimeToFirstToken: c.ServerTimeToFirstToken.Seconds(),
		IdleTime:               c.IdleTime.Seconds(),
		Idle:                   c.Idle,
		TimeToFirstChunk:       c.TimeToFirstChunk.Seconds(),
		TimeToFirstToken:       c.TimeToFirstToken.Seconds(),
		TimeToFirstAnswer:      c.TimeToFirstAnswer.Seconds(),
		TimeToLastToken:        c.TimeToLastToken.Seconds(),
		Duration:               c.Duration.Seconds(),
		MaxChunkGap:            c.MaxChunkGap.Seconds(),
		ConsumerTime:           c.ConsumerTime.Seconds(),
		ChunkTimes:             make([]float64, len(c.ChunkTimes)),
		Chunks:                 c.Chunks,
		TokenChunks:            c.TokenChunks,
		AnswerChunks:           c.AnswerChunks,
		InputTokens:            c.InputTokens,
		OutputTokens:           c.OutputTokens,
		ReasoningTokens:        c.ReasoningTokens,
		CachedInputTokens:      c.CachedInputTokens,
		CacheWriteInputTokens:  c.CacheWriteInputTokens,
		UsageReported:          c.UsageReported,
		OutputTokensPerSecond:  c.OutputTokensPerSecond,
		FinishReason:           c.FinishReason,
		FinishReasons:          append([]string{}, c.FinishReasons...),
		Flags:                  flagNames(c.Flags),
		IgnoredParams:          slices.Clone(c.IgnoredParams),
		Cost:                   CostJSON{c.Cost.Input, c.Cost.CachedInput, c.Cost.Output, c.Cost.Total},
		PriceKnown:             c.PriceKnown,
		ProviderCost:           c.ProviderCost,
		ProviderCostReported:   c.ProviderCostReported,
		ErrorType:              c.ErrorType,
		StatusCode:             c.StatusCode,
		Attempt:                c.Attempt,
		Answer:                 c.Answer,
		Reasoning:              c.Reasoning,
	}
	for i, d := range c.ChunkTimes {
		r.ChunkTimes[i] = d.Seconds()
	}
	if c.Err != nil {
		r.Error = c.Err.Error()
	}
	return r
}

// flagNames returns the names of the flags set in f, in the library's
// order. The library's Flags.String joins them with "|".
func flagNames(f infermetrics.Flags) []string {
	s := f.String()
	if f == 0 || s == "" {
		return []string{}
	}
	return strings.Split(s, "|")
}

// Succeeded reports whether the attempt completed without error with a
// 2xx status, useful or not.
func (t *Trial) Succeeded() bool {
	return t.Call.Error == "" && t.Call.StatusCode >= 200 && t.Call.StatusCode < 300
}

// A recorder appends trials to trials.jsonl, one line each, so that an
// interrupted run loses no finished attempt. It can be used concurrently.
//
// add only queues the trial: one writer goroutine encodes each line,
// writes it, and flushes it to the file as soon as no other trial waits
// behind it (a burst of attempts ending together is one write, not one
// each). The encoding and the write are off the goroutines that send
// requests, which would otherwise spend them between one request's end and
// the next's dispatch, with hundreds of streams ending in the same
// millisecond. close waits for every queued line to be written.
type recorder struct {
	q    chan *Trial
	done chan struct{}
	f    io.WriteCloser
	// after, if not nil, runs on the writer for each trial once its line
	// is written (the run's progress).
	after func(*Trial)

	// Owned by the writer until done is closed.
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	n   int
	err error
}

// newRecorder opens path to append to it; after may be nil.
func newRecorder(path string, after func(*Trial)) (*recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return newRecorderTo(f, after), nil
}

func newRecorderTo(f io.WriteCloser, after func(*Trial)) *recorder {
	r := &recorder{q: make(chan *Trial, 4096), done: make(chan struct{}), f: f, after: after, w: bufio.NewWriterSize(f, 64<<10)}
	r.enc = json.NewEncoder(&r.buf)
	go r.write()
	return r
}

// add queues t to be written. t must not be modified afterwards.
func (r *recorder) add(t *Trial) { r.q <- t }

// write is the writer goroutine.
func (r *recorder) write() {
	defer close(r.done)
	for t := range r.q {
		if r.err == nil {
			r.buf.Reset()
			if err := r.enc.Encode(t); err != nil { // json.Marshal's bytes and a newline
				r.err = err
			} else if _, err := r.w.Write(r.buf.Bytes()); err != nil {
				r.err = err
			} else {
				r.n++
			}
			if r.err == nil && len(r.q) == 0 {
				r.err = r.w.Flush()
			}
		}
		if r.after != nil {
			r.after(t)
		}
	}
	if r.err == nil {
		r.err = r.w.Flush()
	}
}

// close writes every queued trial, closes the file and returns the first
// error met. No add may follow it.
func (r *recorder) close() error {
	close(r.q)
	<-r.done
	if err := r.f.Close(); r.err == nil {
		r.err = err
	}
	return r.err
}

// readTrials reads a trials.jsonl file. A last line cut short (a run
// killed mid-write) is skipped; any other bad line is an error.
func readTrials(path string) ([]Trial, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Trial
	lines := bytes.Split(b, []byte("\n"))
	for i, line := range lines {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var t Trial
		if err := json.Unmarshal(line, &t); err != nil {
			if i == len(lines)-1 {
				break // the unterminated last line of a killed run
			}
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		out = append(out, t)
	}
	return out, nil
}
