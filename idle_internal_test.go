package infermetrics

import (
	"sync"
	"testing"
	"time"
)

// TestIdleTracker checks the tracker's record: unseen keys, the latest
// end winning whatever order ends are reported in, concurrent use (under
// -race), and the bound.
func TestIdleTracker(t *testing.T) {
	var tr idleTracker
	k := idleKey{"h", 1, "m"}
	t0 := time.Now()
	if _, seen := tr.since(k, t0); seen {
		t.Fatal("an unseen key was seen")
	}
	tr.done(k, t0.Add(2*time.Second))
	tr.done(k, t0.Add(time.Second)) // an earlier end, reported late
	if d, seen := tr.since(k, t0.Add(5*time.Second)); !seen || d != 3*time.Second {
		t.Errorf("since = %v, %v; want 3s, true", d, seen)
	}
	if d, _ := tr.since(k, t0); d != 0 {
		t.Errorf("since before the end = %v, want 0", d)
	}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := idleKey{"h", 2, "m"}
			for j := range 1000 {
				tr.done(key, t0.Add(time.Duration(i*1000+j)*time.Millisecond))
				tr.since(key, t0)
			}
		})
	}
	wg.Wait()
	if d, _ := tr.since(idleKey{"h", 2, "m"}, t0.Add(8*time.Second)); d != time.Millisecond {
		t.Errorf("after concurrent ends, since = %v, want 1ms (the latest end, 7.999s)", d)
	}

	for i := range maxIdleKeys + 1 {
		tr.done(idleKey{"many", i, "m"}, t0)
	}
	tr.mu.RLock()
	n := len(tr.last)
	tr.mu.RUnlock()
	if n > maxIdleKeys {
		t.Errorf("%d keys kept, want at most %d", n, maxIdleKeys)
	}
}
