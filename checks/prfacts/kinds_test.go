package prfacts

import (
	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/kind/app"
	"github.com/conveyor-dev/conveyor/checks/kind/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind/model"
)

// The configs under test use the built-in kinds.
func init() { kind.Ensure(app.Kind{}, model.Kind{}, dbt.Kind{}) }
