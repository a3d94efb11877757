// Package bot is the GitHub App's infrastructure: it verifies and stores
// webhook deliveries, enqueues them as durable jobs, routes each job to the
// handlers other packages register, serves the Slack interaction endpoint
// through a handler registered from outside, and asks GitHub to redeliver
// what it missed. It must not hold check, command or deploy logic and must
// not import those packages (a test enforces it); the GitHub client stack
// lives in internal/ghclient.
package bot
