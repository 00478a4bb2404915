package infermetrics

import (
	"net/http"
	"strconv"
	"strings"
)

// providerHosts maps a host, or a host suffix starting with '.', to a
// gen_ai.provider.name value. Names the semantic conventions define are used
// as they are; the others follow their style. The README lists this table.
var providerHosts = []struct{ host, name string }{
	{"api.openai.com", "openai"},
	{".openai.azure.com", "azure.ai.openai"},
	{".cognitiveservices.azure.com", "azure.ai.openai"},
	{".services.ai.azure.com", "azure.ai.inference"},
	{".models.ai.azure.com", "azure.ai.inference"},
	{"models.inference.ai.azure.com", "azure.ai.inference"},
	{"api.anthropic.com", "anthropic"},
	{"generativelanguage.googleapis.com", "gcp.gemini"},
	{"aiplatform.googleapis.com", "gcp.vertex_ai"},
	{".aiplatform.googleapis.com", "gcp.vertex_ai"},
	{"api.groq.com", "groq"},
	{"api.deepseek.com", "deepseek"},
	{"api.x.ai", "x_ai"},
	{"api.mistral.ai", "mistral_ai"},
	{"api.perplexity.ai", "perplexity"},
	{"api.cohere.ai", "cohere"},
	{"api.cohere.com", "cohere"},
	{"api.moonshot.ai", "moonshot_ai"},
	{"api.moonshot.cn", "moonshot_ai"},
	{".watsonx.ai", "ibm.watsonx.ai"},
	{"openrouter.ai", "openrouter"},
	{"api.together.xyz", "together_ai"},
	{"api.together.ai", "together_ai"},
	{"api.fireworks.ai", "fireworks_ai"},
	{"api.cerebras.ai", "cerebras"},
	{"router.huggingface.co", "huggingface"},
	{"api-inference.huggingface.co", "huggingface"},
	{"api.deepinfra.com", "deepinfra"},
	{"api.sambanova.ai", "sambanova"},
	{"api.hyperbolic.xyz", "hyperbolic"},
	{"api.novita.ai", "novita"},
	{"api.studio.nebius.com", "nebius"},
	{"api.studio.nebius.ai", "nebius"},
	{"dashscope.aliyuncs.com", "alibaba"},
	{"dashscope-intl.aliyuncs.com", "alibaba"},
	{"api.z.ai", "zai"},
	{"open.bigmodel.cn", "zai"},
	{"ai-gateway.vercel.sh", "vercel"},
	{"api.avian.io", "avian"},
	{".snowflakecomputing.com", "snowflake"},
	{"ollama.com", "ollama"},
}

// providerFor returns the provider name for a host.
func providerFor(host string) string {
	h := strings.ToLower(host)
	if strings.HasPrefix(h, "bedrock-runtime.") && strings.HasSuffix(h, ".amazonaws.com") {
		return "aws.bedrock"
	}
	for _, p := range providerHosts {
		if p.host[0] == '.' {
			if strings.HasSuffix(h, p.host) {
				return p.name
			}
		} else if h == p.host {
			return p.name
		}
	}
	return "openai_compatible"
}

type hostProvider struct{ host, name string }

// provider returns providerFor(host), from the cache of the last host.
func (in *instrumentation) provider(host string) string {
	if last := in.lastHost.Load(); last != nil && last.host == host {
		return last.name
	}
	name := providerFor(host)
	in.lastHost.Store(&hostProvider{host, name})
	return name
}

// hostPort returns the server address and port of req.
func hostPort(req *http.Request) (string, int) {
	host := req.URL.Host
	if host == "" {
		host = req.Host
	}
	h, p := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		h, p = host[:i], host[i+1:]
	}
	port := 443
	if req.URL.Scheme == "http" {
		port = 80
	}
	if p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	return strings.Trim(h, "[]"), port
}
