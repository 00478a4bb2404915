package prices

import (
	"sort"
	"strings"
)

// A Price is what a model costs, in US dollars per million tokens.
type Price struct {
	// Input is the price of uncached input tokens.
	Input float64
	// CachedInput is the price of input tokens read from the prompt cache.
	// Zero means no cache discount is known, and cached tokens are billed
	// at Input.
	CachedInput float64
	// CacheWrite is the price of input tokens written to the prompt cache.
	// Zero means cache writes are billed at Input.
	CacheWrite float64
	// Output is the price of output tokens.
	Output float64
	// Reasoning is the price of reasoning tokens. Zero means reasoning
	// tokens are billed at Output.
	Reasoning float64
	// AsOf is the date the price was observed, as YYYY-MM-DD, if known.
	AsOf string
	// Source says where the price is published, usually a URL, if known.
	Source string
}

// A Catalog maps providers and models to prices.
//
// A Catalog is immutable once built and is safe for concurrent use. The zero
// value and a nil *Catalog are empty catalogues.
type Catalog struct {
	entries []entry              // sorted by id
	index   map[indexKey][]int32 // (provider, folded model) -> entries
}

// An entry is one price in a catalogue.
type entry struct {
	id       string // identity for Merge: provider + "/" + lower(model), or lower(model)
	key      string // the key reported by Lookup
	provider string // canonical provider, or "" for a bare entry
	model    string // lower-cased model name
	price    Price
}

type indexKey struct {
	provider string
	model    string // fold(model)
}

func entryID(provider, model string) string {
	if provider == "" {
		return model
	}
	return provider + "/" + model
}

// newCatalog builds a catalogue from entries; later entries with the same
// id replace earlier ones.
func newCatalog(list []entry) *Catalog {
	byID := make(map[string]int, len(list))
	var out []entry
	for _, e := range list {
		if i, ok := byID[e.id]; ok {
			out[i] = e
			continue
		}
		byID[e.id] = len(out)
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	c := &Catalog{entries: out, index: make(map[indexKey][]int32, len(out))}
	for i, e := range out {
		k := indexKey{e.provider, fold(e.model)}
		c.index[k] = append(c.index[k], int32(i))
	}
	return c
}

// Merge returns a catalogue holding the entries of all the given
// catalogues. Where two catalogues have an entry for the same provider and
// model name, compared case-insensitively after normalizing the provider,
// the later one wins. Nil catalogues are skipped.
func Merge(cats ...*Catalog) *Catalog {
	var list []entry
	for _, c := range cats {
		if c != nil {
			list = append(list, c.entries...)
		}
	}
	return newCatalog(list)
}

// Lookup returns the price of model as served by provider, the catalogue
// key of the entry it used, and whether one was found. The rules by which
// names are matched are described in the package documentation.
func (c *Catalog) Lookup(provider, model string) (Price, string, bool) {
	if c == nil || len(c.entries) == 0 {
		return Price{}, "", false
	}
	name := strings.ToLower(strings.TrimSpace(model))
	if name == "" {
		return Price{}, "", false
	}
	p := canonicalProvider(provider)
	if p == "" {
		// "groq/llama-3.3-70b-versatile" names its provider.
		if head, _, found := strings.Cut(name, "/"); found {
			p = providerAliases[head]
		}
	}
	provs := append([]string{p}, sameListPrice[p]...)

	core, tag := splitVariant(name)
	if tag == "free" {
		// The ":free" name itself, with or without its routing prefixes.
		var hints []string
		for _, n := range pathSuffixes(name, &hints) {
			if e := c.find(provs, hints, n); e != nil {
				return e.price, e.key, true
			}
		}
		if e := c.resolve(provs, core); e != nil {
			return Price{AsOf: e.price.AsOf, Source: e.price.Source}, e.key + ":free", true
		}
		return Price{}, name, true
	}
	if e := c.resolve(provs, name); e != nil {
		return e.price, e.key, true
	}
	return Price{}, "", false
}

// resolve tries the candidate names derived from name in order.
func (c *Catalog) resolve(provs []string, name string) *entry {
	var hints []string
	for _, n := range candidates(name, &hints) {
		if e := c.find(provs, hints, n); e != nil {
			return e
		}
	}
	return nil
}

// find looks name up under each of provs, then bare, then under each hint.
func (c *Catalog) find(provs, hints []string, name string) *entry {
	for _, p := range provs {
		if p == "" {
			continue
		}
		if e := c.get(p, name); e != nil {
			return e
		}
	}
	if e := c.get("", name); e != nil {
		return e
	}
	for _, h := range hints {
		if e := c.get(h, name); e != nil {
			return e
		}
	}
	return nil
}

// get returns the entry for provider and name, preferring one whose name
// matches exactly over one that matches only after folding.
func (c *Catalog) get(provider, name string) *entry {
	ids := c.index[indexKey{provider, fold(name)}]
	if len(ids) == 0 {
		return nil
	}
	for _, i := range ids {
		if c.entries[i].model == name {
			return &c.entries[i]
		}
	}
	return &c.entries[ids[0]]
}

// fold maps a lower-cased model name to the form used in the index: a dot
// between two digits becomes a dash.
func fold(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	b := []byte(s)
	for i := 1; i+1 < len(b); i++ {
		if b[i] == '.' && isDigit(b[i-1]) && isDigit(b[i+1]) {
			b[i] = '-'
		}
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// splitVariant splits an OpenRouter variant suffix such as ":free" or
// ":nitro" off name. A suffix that is not all letters (Bedrock's "-v1:0")
// is left alone.
func splitVariant(name string) (core, tag string) {
	i := strings.LastIndexByte(name, ':')
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	for _, r := range name[i+1:] {
		if r < 'a' || r > 'z' {
			return name, ""
		}
	}
	return name[:i], name[i+1:]
}

// pathSuffixes returns name and each of its suffixes after a '/', longest
// first, adding to *hints each removed segment that names a provider.
func pathSuffixes(name string, hints *[]string) []string {
	out := []string{name}
	for rest := name; ; {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			break
		}
		if p, ok := providerAliases[rest[:i]]; ok {
			*hints = appendUnique(*hints, p)
		}
		rest = rest[i+1:]
		if rest == "" {
			break
		}
		out = append(out, rest)
	}
	return out
}

// candidates returns the names to try for name, most specific first, and
// adds provider hints found along the way to *hints.
func candidates(name string, hints *[]string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = appendUnique(out, s)
		}
	}
	add(name)
	core, tag := splitVariant(name)
	if tag != "" {
		add(core)
	}
	for _, s := range pathSuffixes(core, hints) {
		add(s)
	}
	if b, vendor, ok := bedrockBase(out[len(out)-1]); ok {
		if vendor != "" {
			*hints = appendUnique(*hints, vendor)
		}
		add(b)
	}
	for _, s := range out {
		if d, ok := stripDate(s); ok {
			add(d)
		}
	}
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Bedrock model ids look like [region.]vendor.model[-vN:M].
var (
	bedrockRegions = map[string]bool{
		"us": true, "eu": true, "apac": true, "jp": true, "au": true,
		"ca": true, "global": true, "us-gov": true,
	}
	bedrockVendors = map[string]string{
		"anthropic": "anthropic", "meta": "", "amazon": "", "mistral": "mistral_ai",
		"cohere": "cohere", "ai21": "", "deepseek": "deepseek", "openai": "openai",
		"qwen": "", "writer": "", "moonshot": "moonshot", "moonshotai": "moonshot",
	}
)

// bedrockBase returns the model part of a Bedrock model id and the provider
// of its vendor, if any.
func bedrockBase(s string) (base, vendor string, ok bool) {
	head, rest, found := strings.Cut(s, ".")
	if !found {
		return "", "", false
	}
	if bedrockRegions[head] {
		head, rest, found = strings.Cut(rest, ".")
		if !found {
			return "", "", false
		}
	}
	vendor, ok = bedrockVendors[head]
	if !ok || rest == "" {
		return "", "", false
	}
	// Drop a trailing -vN:M, -N:M or :M version.
	if i := strings.LastIndexByte(rest, ':'); i > 0 && allDigits(rest[i+1:]) {
		rest = rest[:i]
		if j := strings.LastIndex(rest, "-v"); j > 0 && allDigits(rest[j+2:]) {
			rest = rest[:j]
		} else if j := strings.LastIndexByte(rest, '-'); j > 0 && j == len(rest)-2 && isDigit(rest[j+1]) {
			rest = rest[:j] // openai.gpt-oss-120b-1:0
		}
	}
	return rest, vendor, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// stripDate removes a trailing snapshot date from the last path segment of
// s: -YYYY-MM-DD, -YYYYMMDD, @YYYYMMDD, -YYMMDD, -MMDD or -YYMM.
func stripDate(s string) (string, bool) {
	n := len(s)
	switch {
	case n > 11 && s[n-11] == '-' && s[n-6] == '-' && s[n-3] == '-' &&
		allDigits(s[n-10:n-6]) && allDigits(s[n-5:n-3]) && allDigits(s[n-2:]) &&
		validYMD(atoi(s[n-10:n-6]), atoi(s[n-5:n-3]), atoi(s[n-2:])):
		return s[:n-11], true
	case n > 9 && (s[n-9] == '-' || s[n-9] == '@') && allDigits(s[n-8:]) &&
		validYMD(atoi(s[n-8:n-4]), atoi(s[n-4:n-2]), atoi(s[n-2:])):
		return s[:n-9], true
	case n > 7 && s[n-7] == '-' && allDigits(s[n-6:]) &&
		validYMD(2000+atoi(s[n-6:n-4]), atoi(s[n-4:n-2]), atoi(s[n-2:])):
		return s[:n-7], true
	case n > 5 && s[n-5] == '-' && allDigits(s[n-4:]) &&
		(validMD(atoi(s[n-4:n-2]), atoi(s[n-2:])) || validYM(atoi(s[n-4:n-2]), atoi(s[n-2:]))):
		return s[:n-5], true
	}
	return s, false
}

func atoi(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}

func validYMD(y, m, d int) bool { return 2020 <= y && y <= 2099 && validMD(m, d) }
func validMD(m, d int) bool     { return 1 <= m && m <= 12 && 1 <= d && d <= 31 }
func validYM(y, m int) bool     { return 23 <= y && y <= 99 && 1 <= m && m <= 12 }

// sameListPrice lists, for a provider, the providers whose list prices it
// charges.
var sameListPrice = map[string][]string{
	"azure.ai.openai": {"openai"},
	"gcp.vertex_ai":   {"gcp.gemini"},
	"gcp.gemini":      {"gcp.vertex_ai"},
	"gcp.gen_ai":      {"gcp.gemini", "gcp.vertex_ai"},
}

// providerAliases maps the provider names used by LiteLLM, OpenRouter,
// OpenTelemetry and common clients onto canonical provider ids.
var providerAliases = map[string]string{
	"openai":                 "openai",
	"text-completion-openai": "openai",
	"azure":                  "azure.ai.openai",
	"azure_openai":           "azure.ai.openai",
	"azure.ai.openai":        "azure.ai.openai",
	"azure_ai":               "azure.ai.inference",
	"azure.ai.inference":     "azure.ai.inference",
	"anthropic":              "anthropic",
	"aws.bedrock":            "aws.bedrock",
	"bedrock":                "aws.bedrock",
	"bedrock_converse":       "aws.bedrock",
	"gcp.gemini":             "gcp.gemini",
	"gemini":                 "gcp.gemini",
	"google":                 "gcp.gemini",
	"google_ai_studio":       "gcp.gemini",
	"gcp.vertex_ai":          "gcp.vertex_ai",
	"vertex_ai":              "gcp.vertex_ai",
	"vertex":                 "gcp.vertex_ai",
	"gcp.gen_ai":             "gcp.gen_ai",
	"x_ai":                   "x_ai",
	"xai":                    "x_ai",
	"x-ai":                   "x_ai",
	"mistral_ai":             "mistral_ai",
	"mistral":                "mistral_ai",
	"mistralai":              "mistral_ai",
	"deepseek":               "deepseek",
	"deepseek-ai":            "deepseek",
	"groq":                   "groq",
	"perplexity":             "perplexity",
	"openrouter":             "openrouter",
	"together_ai":            "together_ai",
	"together":               "together_ai",
	"togetherai":             "together_ai",
	"fireworks_ai":           "fireworks_ai",
	"fireworks":              "fireworks_ai",
	"fireworks-ai":           "fireworks_ai",
	"cerebras":               "cerebras",
	"huggingface":            "huggingface",
	"hf":                     "huggingface",
	"deepinfra":              "deepinfra",
	"cohere":                 "cohere",
	"cohere_chat":            "cohere",
	"ibm.watsonx.ai":         "ibm.watsonx.ai",
	"watsonx":                "ibm.watsonx.ai",
	"moonshot":               "moonshot",
	"moonshotai":             "moonshot",
	"dashscope":              "dashscope",
	"nebius":                 "nebius",
	"sambanova":              "sambanova",
	"novita":                 "novita",
}

// canonicalProvider returns the canonical id of a provider name.
func canonicalProvider(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if p, ok := providerAliases[s]; ok {
		return p
	}
	if strings.HasPrefix(s, "vertex_ai-") {
		return "gcp.vertex_ai" // LiteLLM's vertex_ai-language-models and kin
	}
	return s
}
