package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"

	"github.com/infermetrics/infermetrics"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"
)

// A preparedRequest is one prompt's request to one target, as openai-go
// builds it (URL, headers, body), built before the run starts. An attempt
// only copies it: building a request with openai-go (its parameters
// encoded, then the prompt and extra fields set into the JSON) was about
// a third of the client's CPU a request, all of it between the moment a
// request was due and the moment it was written (BENCHMARKS.md section 6).
type preparedRequest struct {
	url    *url.URL
	header http.Header
	body   []byte
}

// errPrepared stops openai-go once it has built a request.
var errPrepared = errors.New("bench: request prepared, not sent")

// prepare builds the requests of scenario sc for target t, one a prompt,
// for the scenario's API. Streamed chat completions ask for usage
// (stream_options.include_usage), as the library would have added to them;
// the Responses API always reports it.
func prepare(t Target, extra []option.RequestOption, sc *Scenario) ([]preparedRequest, error) {
	env := t.APIKeyEnv
	if env == "" {
		env = "OPENAI_API_KEY"
	}
	var got preparedRequest
	client := openai.NewClient(
		option.WithBaseURL(t.BaseURL),
		option.WithAPIKey(os.Getenv(env)),
		option.WithMaxRetries(0),
		option.WithMiddleware(func(req *http.Request, _ option.MiddlewareNext) (*http.Response, error) {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			u := *req.URL
			got = preparedRequest{url: &u, header: req.Header.Clone(), body: b}
			return nil, errPrepared
		}))
	var temperature param.Opt[float64]
	if sc.Temperature == nil || !sc.Temperature.None {
		v := 0.0
		if sc.Temperature != nil {
			v = sc.Temperature.Value
		}
		temperature = openai.Float(v)
	}
	ctx := context.Background()
	// send has openai-go build the request for the scenario's API, with
	// the prompt set into promptField.
	promptField := "messages"
	var send func(opts []option.RequestOption) error
	switch sc.API {
	case infermetrics.APIResponses:
		// The messages array is the input as it is: the Responses API
		// takes role and content items.
		promptField = "input"
		params := responses.ResponseNewParams{Model: t.Model, Temperature: temperature}
		send = func(opts []option.RequestOption) error {
			if *sc.Stream {
				return client.Responses.NewStreaming(ctx, params, opts...).Err()
			}
			_, err := client.Responses.New(ctx, params, opts...)
			return err
		}
	default:
		params := openai.ChatCompletionNewParams{Model: t.Model, Temperature: temperature}
		if *sc.Stream {
			params.StreamOptions.IncludeUsage = openai.Bool(true)
		}
		send = func(opts []option.RequestOption) error {
			if *sc.Stream {
				return client.Chat.Completions.NewStreaming(ctx, params, opts...).Err()
			}
			_, err := client.Chat.Completions.New(ctx, params, opts...)
			return err
		}
	}
	out := make([]preparedRequest, len(sc.messages))
	for i, m := range sc.messages {
		got = preparedRequest{}
		err := send(append(slices.Clip(extra),
			option.WithJSONSet(promptField, m),
			option.WithJSONSet(sc.MaxTokensField, sc.MaxTokens)))
		if got.url == nil {
			return nil, fmt.Errorf("scenario %s, prompt %d: openai-go built no request: %w", sc.Name, i+1, err)
		}
		out[i] = got
	}
	return out, nil
}

// newRequest returns the prepared request as an *http.Request of its own
// (headers copied: a RoundTripper may not modify them, but nothing says a
// hook will not), with ctx.
func (p *preparedRequest) newRequest(ctx context.Context) *http.Request {
	req := &http.Request{
		Method:        http.MethodPost,
		URL:           p.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        p.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(p.body)),
		GetBody:       p.getBody,
		ContentLength: int64(len(p.body)),
		Host:          p.url.Host,
	}
	return req.WithContext(ctx)
}

func (p *preparedRequest) getBody() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(p.body)), nil
}
