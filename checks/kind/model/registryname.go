package model

import (
	"strings"

	"github.com/conveyor-dev/conveyor/checks/kind"
)

// nameChecker is implemented by registries whose model names have a form
// of their own (*mlflow.Client of a Unity Catalog registry:
// catalog.schema.model).
type nameChecker interface {
	CheckModelName(name string) error
}

// checkName says why the pointer's model name cannot be a model of reg, or "".
func checkName(reg kind.Registry, name string) string {
	nc, ok := reg.(nameChecker)
	if !ok {
		return ""
	}
	if err := nc.CheckModelName(name); err != nil {
		return strings.TrimPrefix(err.Error(), "MLflow: ")
	}
	return ""
}
