// Package ghclient is Conveyor's GitHub API client stack: it hands out
// go-github clients for the app (JWT) and its installations (installation
// tokens), all on one stack of small http.RoundTrippers that own retries
// (5xx, rate limits, network errors), pacing of content-creating calls,
// conditional GETs through an ETag cache, response size limits and the
// GitHub call metrics.
//
// Response bodies are never cut: a body reaches the caller whole, or the
// call fails with an error naming the limit (Options.MaxBody, default
// DefaultMaxBody). The package knows nothing about webhooks, checks,
// commands or deployments; it must not import them.
package ghclient
