package commands

import (
	"context"

	"github.com/conveyor-dev/conveyor/deploy"
)

// Deployer is the part of the promotion engine the commands drive;
// *deploy.Engine implements it.
type Deployer interface {
	Start(ctx context.Context, r deploy.Request) (*deploy.Deployment, error)
	Rollback(ctx context.Context, r deploy.Request) (*deploy.Deployment, error)
	Approve(ctx context.Context, id int64, a deploy.Approval) (*deploy.Deployment, error)
	Reject(ctx context.Context, id int64, login, via, reason string) (*deploy.Deployment, error)
	Cancel(ctx context.Context, repo string, pr int, login string) ([]*deploy.Deployment, error)
	Lock(ctx context.Context, repo, env string, pr int, login, reason string) error
	Unlock(ctx context.Context, repo, env, login string) error
	Status(ctx context.Context, repo string) (*deploy.StatusReport, error)
	LastSucceeded(ctx context.Context, repo, env string) (map[string]string, error)
}

var _ Deployer = (*deploy.Engine)(nil)
