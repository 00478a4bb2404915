package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/infermetrics/infermetrics"
)

// TestCallRecordHasEveryCallField checks that a trial records every field
// of the library's Call (trials.jsonl's contract): a field added to Call
// must be added here too.
func TestCallRecordHasEveryCallField(t *testing.T) {
	rec := reflect.TypeFor[CallRecord]()
	for f := range reflect.TypeFor[infermetrics.Call]().Fields() {
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if name == "Err" {
			name = "Error" // as text
		}
		if _, ok := rec.FieldByName(name); !ok {
			t.Errorf("Call.%s is not recorded in CallRecord", f.Name)
		}
	}
}

// TestRecordCopiesTheCall checks the fields whose conversion is not a
// plain copy: durations become seconds, the error its text.
func TestRecordCopiesTheCall(t *testing.T) {
	c := &infermetrics.Call{
		API:                    infermetrics.APIResponses,
		TimeToRequestWritten:   3 * time.Millisecond,
		TimeToResponseHeaders:  40 * time.Millisecond,
		ServerTimeToFirstToken: 25 * time.Millisecond,
		IdleTime:               2 * time.Minute,
		Idle:                   "cold",
		IgnoredParams:          []string{"temperature"},
		TimeToFirstToken:       250 * time.Millisecond,
		ChunkTimes:             []time.Duration{time.Second},
	}
	r := record(c)
	if r.API != "responses" || r.TimeToRequestWritten != 0.003 || r.TimeToResponseHeaders != 0.04 ||
		r.ServerTimeToFirstToken != 0.025 || r.IdleTime != 120 || r.Idle != "cold" ||
		!reflect.DeepEqual(r.IgnoredParams, []string{"temperature"}) || r.TimeToFirstToken != 0.25 ||
		!reflect.DeepEqual(r.ChunkTimes, []float64{1}) {
		t.Errorf("record = %+v", r)
	}
	c.IgnoredParams[0] = "changed"
	if r.IgnoredParams[0] != "temperature" {
		t.Error("the record shares the Call's IgnoredParams")
	}
}
