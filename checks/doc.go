// Package checks owns the uniform check suite (docs/configuration.md): it
// classifies a pull request's changed files into artifacts, evaluates each
// touched artifact through the same four stages (Validate and Quality by the
// artifact's kind, through the checks/kind interface and registry; Policy and
// Readiness here, the same for every kind) and writes the `conveyor` gate and
// one `conveyor / <artifact>` check run per artifact. It knows no kind by
// name: what an app, a model or a dbt project is lives in checks/kind/*.
//
// Evaluation is pure over Facts, an interface created per evaluation that
// fetches and caches what it is asked for (changed files, configuration,
// trees, CI results, registry metadata); the GitHub-backed Facts lives at the
// edge. The webhook Handler never calls GitHub: it records heads and CI
// results and enqueues a coalesced river job. Governance (environments,
// approvals) is always read from the base branch, never from the PR head.
// This package decides nothing itself: thresholds and permissions come from
// the repository config and the policy.
package checks
