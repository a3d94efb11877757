package kind

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/policies"
)

// Stage outcomes, as checks shows them. Pass and Info never block; Wait keeps
// the check in progress; Fail and Error fail it.
const (
	Pass  = "pass"
	Warn  = "warn"
	Info  = "info"
	Wait  = "wait"
	Fail  = "fail"
	Error = "error"
)

// ErrNoServerConfig is what Env.Registry answers when the evaluation runs
// without the server config (conveyor check without --config): the
// registry is not unknown, only unknowable here, so a kind reports what
// needs it as not checked (NotChecked) rather than failing.
var ErrNoServerConfig = errors.New("not checked without the server config")

// NotChecked is a stage that needs what only the server config resolves,
// in an evaluation without it; what names that thing ("registry \"main\"").
func NotChecked(what string) Stage {
	return Stage{Result: Info, Summary: what + " not checked without the server config (pass --config)"}
}

// Stage is a kind's verdict on Validate or Quality.
type Stage struct {
	Result  string
	Summary string
	Details []string
}

// Annotation is a problem located in a file, shown on the PR diff.
type Annotation struct {
	Path, Level, Title, Message string
	Line                        int
}

// Outcome is what a kind's evaluation of one artifact found.
type Outcome struct {
	Validate, Quality Stage
	// Persona is the kind's markdown section of the check, in its
	// persona's words (CI and commits, a metric table, lineage).
	Persona string
	// Card is the artifact as the approval card shows it; when a kind
	// leaves it empty the card shows the Quality summary.
	Card        Card
	Annotations []Annotation
	// Evidence is what the policy input carries for the artifact
	// (input.artifacts[_].evidence): CI results, and the kind's own record
	// under its own key (a new kind sets Evidence.Kinds["<key>"]).
	Evidence policies.Evidence
	// Gated says a failed Quality is a finding the policy's quality gates
	// judge (a metric that regressed, a contract break), so /deploy lets
	// the policy decide and an override team may take it further.
	Gated bool
	// Selection is what a deploy of the artifact selects (dbt: the
	// modified and added models); kept with the check and handed back to
	// Plan through PlanEnv.Selection.
	Selection []string
	// Retry says a service the evaluation needs (a model registry) could
	// not be reached: the stages that depend on it are Wait, and the
	// evaluation should run again later. The check on the PR stays in
	// progress and re-evaluates by itself; `conveyor check` fails and says
	// to run it again.
	Retry bool
}

// Side names one end of a change.
type Side int

// The two ends of a pull request.
const (
	Base Side = iota // the base branch head
	Head             // the PR head SHA
)

// String names the side ("base" or "head").
func (s Side) String() string {
	if s == Base {
		return "base"
	}
	return "head"
}

// CIResult is the state of one CI check on the head SHA.
type CIResult struct {
	Status     string // queued, in_progress, completed
	Conclusion string // success, failure, neutral, skipped, cancelled, timed_out, action_required
}

// Commit is one commit of the change.
type Commit struct {
	SHA     string
	Message string // the first line of the message
	Author  string // "@login" on GitHub, else the git author's name
}

// Registry is the part of a model registry a kind reads; *mlflow.Client
// satisfies it.
type Registry interface {
	GetModelVersion(ctx context.Context, name, version string) (*mlflow.ModelVersion, error)
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*mlflow.ModelVersion, error)
	VersionMetrics(ctx context.Context, mv *mlflow.ModelVersion) (map[string]float64, error)
}

// Env is what a kind may ask while evaluating. Every answer is cached for
// the evaluation and safe for concurrent use.
type Env interface {
	HeadSHA() string
	// BaseSHA is the base commit the change is compared with; "" when
	// only the base branch is known.
	BaseSHA() string
	// ReadFile reads one file at side; a missing file is fs.ErrNotExist.
	ReadFile(ctx context.Context, side Side, path string) ([]byte, error)
	// Tree is the whole repository at side.
	Tree(ctx context.Context, side Side) (fs.FS, error)
	// Subtree holds the files under dirs at side (repository folders;
	// "." is the root). On GitHub only those files are fetched; it may hold
	// more where the repository is at hand anyway (a local checkout).
	Subtree(ctx context.Context, side Side, dirs []string) (fs.FS, error)
	// CI is the CI checks recorded on the head SHA, by name.
	CI(ctx context.Context) (map[string]CIResult, error)
	// Commits lists the change's commits, oldest first.
	Commits(ctx context.Context) ([]Commit, error)
	// Registry is the model registry named in the server config; an error
	// when it is not defined there, ErrNoServerConfig when the evaluation
	// runs without the server config.
	Registry(name string) (Registry, error)
	// RegistryNames lists the defined registries for messages.
	RegistryNames() string
	// Environments lists the base config's environments in file order.
	Environments() []string
	// Serving maps each artifact to the SHA it last deployed successfully
	// in env; nil when unknown.
	Serving(ctx context.Context, env string) (map[string]string, error)
	// Actions reads the repository's GitHub Actions runs and artifacts;
	// ErrNoActions when the evaluation does not run against GitHub.
	Actions() (Actions, error)
	// HeadAge is how long ago Conveyor first saw the head SHA (the push or
	// the pull request event that named it); 0 when that is not known (a
	// local checkout).
	HeadAge() time.Duration
	// DeployedManifest is the dbt manifest a deploy of artifact at sha
	// wrote in env, as the deploy engine kept it; fs.ErrNotExist when none
	// is kept (or the evaluation has no store).
	DeployedManifest(ctx context.Context, env, artifact, sha string) ([]byte, error)
}
