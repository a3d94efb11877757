package kind

import (
	"context"
	"errors"
)

// WorkflowRun is one GitHub Actions workflow run, as a kind reads it.
type WorkflowRun struct {
	ID         int64
	Number     int
	Status     string // queued, in_progress, completed (or waiting, requested, pending)
	Conclusion string // when completed: success, failure, cancelled...
	URL        string // the run's page
}

// Actions is what a kind may read of the repository's GitHub Actions: the
// runs of a workflow and the files of the artifacts they upload.
type Actions interface {
	// LatestRun is the newest run of workflow (a file name under
	// .github/workflows) on the commit sha; nil, nil when it has none.
	LatestRun(ctx context.Context, workflow, sha string) (*WorkflowRun, error)
	// ArtifactFile reads the file at name inside the zip artifact called
	// artifact that run uploaded. It answers fs.ErrNotExist (wrapped) when
	// the run has no such artifact or the archive no such file,
	// ErrArtifactExpired when the artifact is past its retention, and a
	// *TooLargeError when the archive or the file is over limit bytes.
	ArtifactFile(ctx context.Context, runID int64, artifact, name string, limit int64) ([]byte, error)
}

// ErrNoActions is what Env.Actions answers when the evaluation does not
// run against GitHub (conveyor check on a local checkout).
var ErrNoActions = errors.New("GitHub Actions are read on the pull request only")

// ErrArtifactExpired says an Actions artifact is past its retention period
// (GitHub answers 410 Gone for its archive).
var ErrArtifactExpired = errors.New("the artifact has expired")
