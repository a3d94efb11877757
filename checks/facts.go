package checks

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/prfacts"
	"github.com/conveyor-dev/conveyor/checks/repoconfig"
)

// Side names one end of a change (prfacts owns it: the facts reader and
// the engine speak of the same two ends).
type Side = prfacts.Side

// The two ends of a pull request.
const (
	Base = prfacts.Base // the base branch head
	Head = prfacts.Head // the PR head SHA
)

// Change identifies the pull request being evaluated.
type Change struct {
	Repository string // owner/name
	Number     int    // 0 for a local checkout
	Author     string
	HeadSHA    string
	BaseRef    string
	BaseSHA    string
	// HeadSeen is when the check suite recorded HeadSHA as the pull
	// request's head; zero for a local checkout.
	HeadSeen time.Time `json:"-"`
}

// Commit is one commit of the change, as the app check lists it.
type Commit = kind.Commit

// CIResult is the state of one CI check (another app's check run or a commit
// status) on the head SHA.
type CIResult = kind.CIResult

// Facts is what an evaluation may ask about a change. An implementation is
// created per evaluation, fetches lazily, caches for that evaluation and must
// be safe for concurrent use (artifacts are evaluated in parallel).
type Facts interface {
	Change() Change
	// ChangedFiles lists the paths the change adds, modifies or deletes.
	ChangedFiles(ctx context.Context) ([]string, error)
	// BaseConfig is .github/conveyor.yml at the base SHA; (nil, nil, nil)
	// when the base has none.
	BaseConfig(ctx context.Context) (*repoconfig.Config, []repoconfig.Problem, error)
	// ReadFile reads one file at side; a missing file is fs.ErrNotExist.
	ReadFile(ctx context.Context, side Side, path string) ([]byte, error)
	// Tree is the whole repository at side.
	Tree(ctx context.Context, side Side) (fs.FS, error)
	// CI returns the CI checks recorded on the head SHA by name.
	CI(ctx context.Context) (map[string]CIResult, error)
	// Commits lists the change's commits, oldest first (for a pull request,
	// what GitHub lists for it: at most 250).
	Commits(ctx context.Context) ([]Commit, error)
	// Serving returns, for an environment, the SHA each artifact last
	// deployed successfully there; nil when unknown.
	Serving(ctx context.Context, env string) (map[string]string, error)
	// Registry returns the model registry named in the server config.
	Registry(name string) (Registry, error)
}

// Registry is the part of a model registry the model kind reads;
// *mlflow.Client satisfies it.
type Registry = kind.Registry

// Deployments answers what each environment serves: for an environment, the
// SHA each artifact last deployed successfully.
type Deployments interface {
	LastSucceeded(ctx context.Context, repo, env string) (map[string]string, error)
}

// ErrUnknownRegistry is returned by Facts.Registry for a name the server
// config does not define.
var ErrUnknownRegistry = errors.New("registry not defined in the server config")
