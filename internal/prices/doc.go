// Package prices is a catalogue of large language model prices, used to
// compute the dollar cost of a call from its token counts.
//
// All prices are in US dollars per million tokens. A [Catalog] maps a
// provider and a model name to a [Price]; [Catalog.Lookup] finds the price
// for the names that clients actually send, which often carry routing
// prefixes, dated snapshot suffixes or a different spelling of the version
// number than the catalogue uses.
//
// # Formats
//
// [Parse] reads either of two JSON formats and tells them apart by the
// top-level "format" member: a document that has one is in this package's
// own format, and any other object is read as LiteLLM's.
//
// This package's own format, version 1, is an object with exactly two
// members:
//
//	{
//	  "format": "infermetrics/prices/v1",
//	  "models": [
//	    {
//	      "provider": "openai",
//	      "model": "gpt-4o",
//	      "input": 2.5,
//	      "cached_input": 1.25,
//	      "output": 10,
//	      "as_of": "2026-07-24",
//	      "source": "https://openai.com/api/pricing/"
//	    }
//	  ]
//	}
//
// Each element of "models" describes one price, per million tokens:
//
//	provider      who charges the price (optional; see below)
//	model         the model name as sent in API requests (required)
//	input         price of uncached input tokens (required)
//	output        price of output tokens (required)
//	cached_input  price of input tokens read from the prompt cache
//	cache_write   price of input tokens written to the prompt cache
//	reasoning     price of reasoning tokens, if not billed as output
//	as_of         date the price was observed, as YYYY-MM-DD
//	source        where the price is published, usually a URL
//
// An element without a provider is a bare entry: the list price of the
// model's maker, which applies wherever the model is served unless a
// provider-qualified entry says otherwise. An element with a provider
// applies to that provider only. Provider names are normalized as described
// under Providers. Unknown members, missing required members, negative or
// non-numeric prices, malformed dates and duplicate entries are errors.
//
// LiteLLM's model_prices_and_context_window.json is an object mapping a
// model key to an object of properties, with prices in US dollars per
// token. Parse keeps the entries whose "mode" is "chat" or "responses" or
// absent, reads input_cost_per_token, output_cost_per_token,
// cache_read_input_token_cost, cache_creation_input_token_cost,
// output_cost_per_reasoning_token and source, and ignores every other
// member. The "sample_spec" key is skipped, and so is an entry that lacks
// an input or an output price. Per-token prices are converted to per-million
// prices by shifting the decimal exponent of the number as written, so that
// 2.5e-07 becomes exactly 0.25 with no floating-point noise. A key whose
// first path segment names a provider ("groq/llama-3.3-70b-versatile",
// "openrouter/openai/gpt-4o") becomes an entry qualified by that provider;
// any other key ("gpt-4o") becomes a bare entry.
//
// Tiered prices (above 200k tokens of context, priority or batch service,
// audio and image tokens) are outside the model: a Price holds the standard
// text rates only.
//
// # Providers
//
// Provider names are compared after lower-casing and mapping aliases onto
// the OpenTelemetry GenAI gen_ai.provider.name values, or onto a plain
// lower-case id where OpenTelemetry defines none. For example "xai" and
// "x-ai" become "x_ai", "mistral" becomes "mistral_ai", "gemini" becomes
// "gcp.gemini", "vertex_ai" and LiteLLM's "vertex_ai-language-models" become
// "gcp.vertex_ai", "azure" becomes "azure.ai.openai", "bedrock" becomes
// "aws.bedrock", "together" becomes "together_ai" and "fireworks" becomes
// "fireworks_ai".
//
// # Lookup
//
// Lookup compares names case-insensitively, and treats a dot between two
// digits as a dash, so "claude-sonnet-4.5" finds "claude-sonnet-4-5" and
// "grok-4-1-fast" finds "grok-4.1-fast". It derives a list of candidate
// names from the requested model, most specific first:
//
//  1. the name as given;
//  2. the name without an OpenRouter variant suffix such as ":nitro",
//     ":floor", ":online" or ":thinking";
//  3. the name with its leading path segments removed one at a time, so
//     "openrouter/openai/gpt-4o" also tries "openai/gpt-4o" and "gpt-4o";
//     a removed segment that names a provider is remembered as a hint;
//  4. a Bedrock model id without its region, vendor and version parts, so
//     "us.anthropic.claude-sonnet-4-5-20250929-v1:0" also tries
//     "claude-sonnet-4-5-20250929";
//  5. each of the above without a trailing snapshot date: -YYYY-MM-DD,
//     -YYYYMMDD or @YYYYMMDD, -YYMMDD, or a four-digit -MMDD or -YYMM,
//     so "gpt-4o-2024-08-06" also tries "gpt-4o" and "gpt-4-0613" tries
//     "gpt-4".
//
// For each candidate in turn it tries an entry qualified by the requested
// provider (or, if none was given, by the provider that the model name's
// first path segment names), then one qualified by a provider that charges the same list
// prices (azure.ai.openai falls back to openai, gcp.vertex_ai and
// gcp.gemini to each other), then a bare entry, then an entry qualified by
// a provider hint taken from the name. The first match wins, so an exact
// dated entry beats its base model, and a provider's own price beats the
// maker's list price.
//
// A name with OpenRouter's ":free" suffix is free: unless the catalogue has
// an entry for the ":free" name itself, Lookup reports it found with a zero
// Price. The returned key is then the key of the base model's entry
// followed by ":free" when the base model is in the catalogue (its AsOf and
// Source are kept), or else the requested name.
package prices
