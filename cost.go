package infermetrics

import (
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"github.com/infermetrics/infermetrics/internal/prices"
)

// Price is what a model costs, in US dollars per million tokens.
//
// Reasoning tokens are billed as output. A zero CachedInput means no cache
// discount is known: cached input tokens are billed at the Input price, so a
// missing cache price never makes a call look cheaper than it was.
type Price struct {
	Input, CachedInput, Output float64
}

// Cost is what one call cost, in US dollars, by part. Input covers the input
// tokens not read from cache (cache writes included), CachedInput the tokens
// read from cache, and Output all output tokens, reasoning included.
//
// A zero Cost means free or unknown: [Call.PriceKnown] tells which.
type Cost struct {
	Input, CachedInput, Output, Total float64
}

// validPrice reports a price that cannot be right.
func validPrice(model string, p Price) error {
	if model == "" {
		return fmt.Errorf("infermetrics: WithPrice: empty model name")
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"Input", p.Input}, {"CachedInput", p.CachedInput}, {"Output", p.Output}} {
		if v.v < 0 || math.IsNaN(v.v) || math.IsInf(v.v, 0) {
			return fmt.Errorf("infermetrics: WithPrice(%q): %s price %v is not a non-negative number", model, v.name, v.v)
		}
	}
	return nil
}

// rate is a price as the library uses it: a [Price] plus the optional parts
// a catalogue may know.
type rate struct {
	Price
	CacheWrite float64 // per million cache-write tokens; 0 means Input
	Reasoning  float64 // per million reasoning tokens; 0 means Output
}

// bill computes the cost of usage at r. Token counts follow the semantic
// conventions: input includes cached and cache-write tokens, output includes
// reasoning tokens.
func bill(r rate, input, cached, cacheWrite, output, reasoning int64) Cost {
	input, cached, cacheWrite = max(input, 0), max(cached, 0), max(cacheWrite, 0)
	output, reasoning = max(output, 0), max(reasoning, 0)
	cached = min(cached, input)
	cacheWrite = min(cacheWrite, input-cached)
	reasoning = min(reasoning, output)

	cachedPrice := r.CachedInput
	if cachedPrice == 0 {
		cachedPrice = r.Input
	}
	writePrice := r.CacheWrite
	if writePrice == 0 {
		writePrice = r.Input
	}
	reasonPrice := r.Reasoning
	if reasonPrice == 0 {
		reasonPrice = r.Output
	}
	var c Cost
	c.Input = perMillion(input-cached-cacheWrite, r.Input) + perMillion(cacheWrite, writePrice)
	c.CachedInput = perMillion(cached, cachedPrice)
	c.Output = perMillion(output-reasoning, r.Output) + perMillion(reasoning, reasonPrice)
	c.Total = c.Input + c.CachedInput + c.Output
	return c
}

func perMillion(tokens int64, price float64) float64 {
	if tokens <= 0 || price == 0 {
		return 0
	}
	return float64(tokens) * price / 1e6
}

// A PriceCatalog is a set of model prices loaded from a file in LiteLLM's
// model_prices_and_context_window.json format or in this library's own
// format (see the README). It is immutable and safe for concurrent use.
type PriceCatalog struct {
	c *prices.Catalog
}

// ParsePriceCatalog reads a price catalogue, detecting its format. Errors
// name the offending entry.
func ParsePriceCatalog(r io.Reader) (*PriceCatalog, error) {
	c, err := prices.Parse(r)
	if err != nil {
		return nil, err
	}
	return &PriceCatalog{c}, nil
}

// LoadPriceCatalog reads the price catalogue in the named file.
func LoadPriceCatalog(path string) (*PriceCatalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ParsePriceCatalog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// priceBook resolves the price of a call: WithPrice first (request model,
// then response model), then the catalogues (provider-qualified entries
// first), then the built-in catalogue.
type priceBook struct {
	exact map[string]Price
	cat   *prices.Catalog

	// A client's calls all read cache: a hit takes no exclusive lock.
	mu    sync.RWMutex
	cache map[priceKey]priceHit
}

type priceKey struct{ provider, model string }

type priceHit struct {
	r  rate
	ok bool
}

const maxPriceCache = 1024

func newPriceBook(exact map[string]Price, cats []*prices.Catalog, noBuiltin bool) *priceBook {
	all := cats
	if !noBuiltin {
		all = append([]*prices.Catalog{prices.Builtin()}, cats...)
	}
	return &priceBook{exact: exact, cat: prices.Merge(all...), cache: make(map[priceKey]priceHit)}
}

func (b *priceBook) lookup(provider, model string) (rate, bool) {
	if model == "" {
		return rate{}, false
	}
	if p, ok := b.exact[model]; ok {
		return rate{Price: p}, true
	}
	k := priceKey{provider, model}
	b.mu.RLock()
	h, ok := b.cache[k]
	b.mu.RUnlock()
	if ok {
		return h.r, h.ok
	}
	p, _, found := b.cat.Lookup(provider, model)
	h = priceHit{ok: found}
	if found {
		h.r = rate{Price: Price{Input: p.Input, CachedInput: p.CachedInput, Output: p.Output}, CacheWrite: p.CacheWrite, Reasoning: p.Reasoning}
	}
	b.mu.Lock()
	if len(b.cache) < maxPriceCache {
		b.cache[k] = h
	}
	b.mu.Unlock()
	return h.r, h.ok
}

// price sets the call's cost from its usage.
func (b *priceBook) price(c *Call) {
	r, ok := b.lookup(c.Provider, c.RequestModel)
	if !ok {
		r, ok = b.lookup(c.Provider, c.ResponseModel)
	}
	c.PriceKnown = ok
	if ok {
		c.Cost = bill(r, c.InputTokens, c.CachedInputTokens, c.CacheWriteInputTokens, c.OutputTokens, c.ReasoningTokens)
	}
}
