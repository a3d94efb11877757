// Package bot is the GitHub App: it verifies and stores webhook deliveries,
// enqueues them as durable jobs, routes each job to the handlers that other
// packages register, and owns the GitHub and Slack clients (the transport
// layer with retries, pacing, conditional requests and metrics). It must not
// hold check, command or deploy logic: those packages register handlers.
package bot
