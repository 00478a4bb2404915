package main

import (
	"time"

	"github.com/infermetrics/infermetrics/infermetricstest"
)

// The built-in simulated catalogue: what `infermetrics bench` measures
// with no config. Each simulated provider is an infermetricstest server on
// loopback answering from an [infermetricstest.Simulator]; the models
// carry names the library's price catalogue knows, so costs are those of
// the real models' list prices. Every output labels it simulated.

// A SimulatedTarget describes one simulated provider, for run.json and
// the report.
type SimulatedTarget struct {
	Provider  string   `json:"provider"`
	Behaviour string   `json:"behaviour"`
	Models    []string `json:"models"`
}

const ms = time.Millisecond

// The simulated models: a small instruct model, a large dense model, and
// a reasoning model whose thinking sometimes exhausts the scenario's
// 80-token budget.
var (
	simSmall = infermetricstest.Model{
		FirstToken:   infermetricstest.Dist{Median: 50 * ms, Spread: 0.15},
		TokenGap:     infermetricstest.Dist{Median: 3 * ms, Spread: 0.2},
		AnswerTokens: 16,
	}
	simLarge = infermetricstest.Model{
		FirstToken:   infermetricstest.Dist{Median: 120 * ms, Spread: 0.15},
		TokenGap:     infermetricstest.Dist{Median: 6 * ms, Spread: 0.2},
		AnswerTokens: 16,
	}
	simReasoning = infermetricstest.Model{
		FirstToken:      infermetricstest.Dist{Median: 80 * ms, Spread: 0.15},
		TokenGap:        infermetricstest.Dist{Median: 2 * ms, Spread: 0.2},
		AnswerTokens:    16,
		ReasoningTokens: 40,
		ReasoningSpread: 0.6,
	}
)

// simProvider is one simulated provider: how it changes the models, and
// which it offers.
type simProvider struct {
	name, behaviour string
	models          []string
	change          func(infermetricstest.Model) infermetricstest.Model
}

var simProviders = []simProvider{
	{
		name:      "sim-steady",
		behaviour: "steady: narrow timing distributions, no errors, no queueing up to 32 requests in flight",
		models:    []string{"gpt-4.1-nano", "gpt-4.1", "o4-mini"},
		change: func(m infermetricstest.Model) infermetricstest.Model {
			m.Capacity = 32
			return m
		},
	},
	{
		name:      "sim-tail",
		behaviour: "heavy TTFT tail: 8% of first tokens come 4 times later; capacity for 8 requests, shared beyond",
		models:    []string{"gpt-4.1-nano", "gpt-4.1", "o4-mini"},
		change: func(m infermetricstest.Model) infermetricstest.Model {
			m.FirstToken.Spread = 0.25
			m.FirstToken.TailProb, m.FirstToken.TailFactor = 0.08, 4
			m.Capacity = 8
			return m
		},
	},
	{
		name:      "sim-sparse",
		behaviour: "does not offer o4-mini (404 model_not_found); otherwise steady",
		models:    []string{"gpt-4.1-nano", "gpt-4.1"},
		change:    func(m infermetricstest.Model) infermetricstest.Model { return m },
	},
	{
		name:      "sim-cold",
		behaviour: "cold starts: after 800ms idle, the next first token is 700ms later",
		models:    []string{"gpt-4.1-nano", "gpt-4.1"},
		change: func(m infermetricstest.Model) infermetricstest.Model {
			m.ColdAfter, m.ColdStart = 800*ms, 700*ms
			return m
		},
	},
	{
		name:      "sim-flaky",
		behaviour: "a few percent of requests (8%) fail with 500 server_error",
		models:    []string{"gpt-4.1-nano", "o4-mini"},
		change: func(m infermetricstest.Model) infermetricstest.Model {
			m.ErrorRate = 0.08
			return m
		},
	},
}

// simTargets lists the targets of the simulated run: every provider's
// models, o4-mini asked of the provider that lacks it, and o4-mini asked
// for minimal reasoning it ignores.
var simModels = map[string]infermetricstest.Model{
	"gpt-4.1-nano": simSmall,
	"gpt-4.1":      simLarge,
	"o4-mini":      simReasoning,
}

// startSimulated starts the simulated providers on loopback and returns
// the plan that measures them, the catalogue's description, and a
// function that stops the servers.
func startSimulated(seed uint64) (*Config, []SimulatedTarget, func()) {
	var servers []*infermetricstest.Server
	var desc []SimulatedTarget
	cfg := &Config{
		Scenarios: []Scenario{{
			Name: "chat",
			Prompts: []string{
				"What is the capital of France?",
				"Summarise in one sentence why time to first token matters.",
				"Name three prime numbers.",
			},
			MaxTokens: 80,
		}},
		Loads:           []string{"sequential", "concurrency=4", "concurrency=16", "rate=20/s", "burst=16", "cold=1s"},
		Trials:          new(25),
		Warmups:         new(3),
		ColdTrials:      new(4),
		Windows:         2,
		WindowGap:       Duration(2 * time.Second),
		Timeout:         Duration(30 * time.Second),
		ParallelTargets: true,
		Seed:            seed,
		Simulated:       true,
	}
	for i, p := range simProviders {
		models := map[string]infermetricstest.Model{}
		for _, name := range p.models {
			models[name] = p.change(simModels[name])
		}
		srv := infermetricstest.NewServerFunc(infermetricstest.NewSimulator(seed+uint64(i), models).Scenario)
		servers = append(servers, srv)
		desc = append(desc, SimulatedTarget{Provider: p.name, Behaviour: p.behaviour, Models: p.models})
		asked := p.models
		if p.name == "sim-sparse" {
			asked = append(asked, "o4-mini")
		}
		for _, m := range asked {
			cfg.Targets = append(cfg.Targets, Target{
				Name: p.name + "/" + m, BaseURL: srv.URL(), Model: m, Provider: p.name, APIKeyEnv: "INFERMETRICS_SIMULATED_KEY",
			})
		}
		if p.name == "sim-steady" {
			cfg.Targets = append(cfg.Targets, Target{
				Name: p.name + "/o4-mini-minimal", BaseURL: srv.URL(), Model: "o4-mini", Provider: p.name,
				APIKeyEnv: "INFERMETRICS_SIMULATED_KEY", Extra: map[string]any{"reasoning_effort": "minimal"},
			})
		}
	}
	return cfg, desc, func() {
		for _, s := range servers {
			s.Close()
		}
	}
}
