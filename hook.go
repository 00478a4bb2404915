package infermetrics

import "context"

// hooksKey is the context key of the functions [ContextWithOnCall] adds.
type hooksKey struct{}

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
	prev := contextHooks(ctx)
	hooks := make([]func(*Call), len(prev), len(prev)+1)
	copy(hooks, prev)
	return context.WithValue(ctx, hooksKey{}, append(hooks, fn))
}

// contextHooks returns the functions ctx carries, in the order added.
func contextHooks(ctx context.Context) []func(*Call) {
	hooks, _ := ctx.Value(hooksKey{}).([]func(*Call))
	return hooks
}
