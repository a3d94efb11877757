package slackapproval

import (
	"context"
)

// Evidence is what the check suite recorded on a deployment's head SHA, as
// the approval card shows it (cmd/conveyor reads it from the suite's
// stored results). The card never evaluates anything itself: it repeats the
// check's own words, so Slack and the pull request say the same.
type Evidence struct {
	// Gate is the conveyor check's conclusion ("success", "failure"), its
	// status while it runs ("in_progress"), or "" when the SHA was never
	// evaluated.
	Gate string
	// Artifacts is each evaluated artifact's part, by name.
	Artifacts map[string]ArtifactEvidence
}

// ArtifactEvidence is one artifact as its check last saw it.
type ArtifactEvidence struct {
	// Conclusion is the artifact check's ("success", "failure"), "" while
	// it runs; Title is its one-line title.
	Conclusion, Title string
	// Lines are the kind's lines in its persona's words: the CI result and
	// commits of an app, the gated metric against production of a model,
	// the models modified, downstream and contract breaks of a dbt project.
	Lines []string
	// Candidate is what the deployment would serve in the kind's words
	// ("v14"), "" for a SHA; Serving is what each environment serves now
	// in the same words, as far as the check knew.
	Candidate string
	Serving   map[string]string
	// MonthlyUSD and DeltaUSD are the artifact's monthly cost and its
	// change against what the base branch defines.
	MonthlyUSD, DeltaUSD float64
}

// EvidenceFunc reads the Evidence of a SHA.
type EvidenceFunc func(ctx context.Context, installationID int64, repo, sha string) (*Evidence, error)
