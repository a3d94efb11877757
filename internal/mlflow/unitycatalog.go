package mlflow

import (
	"fmt"
	"strings"
)

// Registry types of the server config's registries.
const (
	TypeMLflow       = "mlflow"
	TypeUnityCatalog = "unity-catalog"
)

// Unity Catalog's registry endpoints (mlflow/protos/databricks_uc_registry_service.proto;
// MLflow's own client, mlflow/store/_unity_catalog/registry/rest_store.py,
// calls them with the same request forms as the workspace registry's).
const (
	pathUCModelVersion = "/api/2.0/mlflow/unity-catalog/model-versions/get"
	pathUCAlias        = "/api/2.0/mlflow/unity-catalog/registered-models/alias"
)

// WithUnityCatalog makes the client speak to a Databricks Unity Catalog
// registry: the /api/2.0/mlflow/unity-catalog/ endpoints, three-level model
// names (catalog.schema.model) and aliases only, since Unity Catalog has no
// stages. Runs and their metrics are read from the workspace's tracking
// server, the same host.
func WithUnityCatalog() Option {
	return func(c *Client) { c.uc = true }
}

// UnityCatalog reports whether the client speaks to a Unity Catalog registry.
func (c *Client) UnityCatalog() bool { return c.uc }

// NameError says a model name does not fit the registry: Unity Catalog names
// every model catalog.schema.model.
type NameError struct {
	Name string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("MLflow: %q is not a Unity Catalog model name; the registry is Unity Catalog, which names models catalog.schema.model (for example main.ml.%s)",
		e.Name, e.Name[strings.LastIndex(e.Name, ".")+1:])
}

// CheckModelName returns a *NameError when name cannot be a model of this
// registry, before any request is sent. MLflow's own client completes a
// shorter name from the Spark session's current catalog and schema
// (get_full_name_from_sc); Conveyor has no session, so the name must be whole.
func (c *Client) CheckModelName(name string) error {
	if !c.uc {
		return nil
	}
	parts := strings.Split(name, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return &NameError{Name: name}
	}
	return nil
}

// modelPaths returns the model-version and alias endpoints of the registry.
func (c *Client) modelPaths() (version, alias string) {
	if c.uc {
		return pathUCModelVersion, pathUCAlias
	}
	return pathModelVersion, pathAlias
}
