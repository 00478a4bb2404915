package infermetrics

import "context"

// hooksKey is the context key of the functions [ContextWithOnCall] adds.
type hooksKey struct{}

// A hook is one function ContextWithOnCall added, and those added before
// it.
type hook struct {
	fn   func(*Call)
	prev *hook
}

// ContextWithOnCall returns a copy of ctx that carries fn: every HTTP
// attempt of a request made with the returned context (or one derived
// from it) through an instrumented client or transport calls fn with its
// Call, exactly once, as a [WithOnCall] hook is called and after it. Use
// it to have one request's record (a test's, a benchmark trial's, a
// request whose cost the caller bills) where a client-wide hook sees
// every request. A request carrying fn is measured even when no span
// records, no metric instrument records and the client has no hook.
//
// If ctx already carries such functions, fn is called after them. A nil
// fn returns ctx. fn must not retain the *Call after it returns (use
// [Call.Clone]); a panic in fn is recovered and reported to [otel.Handle].
func ContextWithOnCall(ctx context.Context, fn func(*Call)) context.Context {
	if fn == nil {
		return ctx
	}
	return context.WithValue(ctx, hooksKey{}, &hook{fn: fn, prev: contextHooks(ctx)})
}

// contextHooks returns the functions ctx carries, the last added first.
func contextHooks(ctx context.Context) *hook {
	h, _ := ctx.Value(hooksKey{}).(*hook)
	return h
}

// call calls the functions in the order they were added.
func (h *hook) call(c *Call) {
	if h == nil {
		return
	}
	h.prev.call(c)
	callHook(h.fn, c)
}
