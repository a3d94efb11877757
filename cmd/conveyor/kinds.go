package main

import (
	"github.com/conveyor-dev/conveyor/checks/kind"
	"github.com/conveyor-dev/conveyor/checks/kind/app"
	"github.com/conveyor-dev/conveyor/checks/kind/dbt"
	"github.com/conveyor-dev/conveyor/checks/kind/model"
)

// The artifact kinds this binary knows: one line per kind. A new kind is
// its own package under checks/kind and one line here (README.md, "Adding
// an artifact kind").
func init() {
	kind.Register(app.Kind{})
	kind.Register(model.Kind{})
	kind.Register(dbt.Kind{})
}
