package mlflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// REST paths of the endpoints this client calls.
const (
	pathModelVersion = "/api/2.0/mlflow/model-versions/get"
	pathAlias        = "/api/2.0/mlflow/registered-models/alias"
	pathRun          = "/api/2.0/mlflow/runs/get"
	pathLoggedModel  = "/api/2.0/mlflow/logged-models/" // + model_id (MLflow 3)
)

// errEmptyAnswer is returned when MLflow answers 200 without the expected object.
var errEmptyAnswer = errors.New("the server answered without the expected object; check that the registry URL points at an MLflow server")

// GetModelVersion reads one model version.
func (c *Client) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	if err := required("model name", name, "version", version); err != nil {
		return nil, err
	}
	if err := c.CheckModelName(name); err != nil {
		return nil, err
	}
	path, _ := c.modelPaths()
	var resp modelVersionResponse
	q := url.Values{"name": {name}, "version": {version}}
	if err := c.call(ctx, http.MethodGet, path, q, nil, &resp); err != nil {
		return nil, withSubject(err, fmt.Sprintf("model %q version %s", name, version))
	}
	if resp.ModelVersion == nil {
		return nil, fmt.Errorf("MLflow GET %s: %w", path, errEmptyAnswer)
	}
	return resp.ModelVersion.toModelVersion(), nil
}

// GetModelVersionByAlias resolves an alias (Conveyor names aliases after
// environments) to the version it points at. It returns (nil, nil) when the
// alias is not set, which means nothing serves there yet. MLflow's stores
// answer that with 400 INVALID_PARAMETER_VALUE "Registered model alias X not
// found." (mlflow/store/model_registry/sqlalchemy_store.py and file_store.py,
// get_model_version_by_alias); other registries (Databricks) with
// RESOURCE_DOES_NOT_EXIST. Any other INVALID_PARAMETER_VALUE (an alias MLflow
// refuses, a missing field) is an error, not "nothing serving".
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	if err := required("model name", name, "alias", alias); err != nil {
		return nil, err
	}
	if err := c.CheckModelName(name); err != nil {
		return nil, err
	}
	_, pathAlias := c.modelPaths()
	var resp modelVersionResponse
	q := url.Values{"name": {name}, "alias": {alias}}
	if err := c.call(ctx, http.MethodGet, pathAlias, q, nil, &resp); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && (apiErr.Code == CodeNotFound ||
			(apiErr.Code == CodeInvalidParam && strings.Contains(apiErr.Message, "not found"))) {
			return nil, nil
		}
		return nil, withSubject(err, fmt.Sprintf("alias %q of model %q", alias, name))
	}
	if resp.ModelVersion == nil {
		return nil, fmt.Errorf("MLflow GET %s: %w", pathAlias, errEmptyAnswer)
	}
	return resp.ModelVersion.toModelVersion(), nil
}

// GetRun reads a run, keeping the latest value of each metric.
func (c *Client) GetRun(ctx context.Context, runID string) (*Run, error) {
	if err := required("run ID", runID); err != nil {
		return nil, err
	}
	var resp runResponse
	if err := c.call(ctx, http.MethodGet, pathRun, url.Values{"run_id": {runID}}, nil, &resp); err != nil {
		return nil, withSubject(err, fmt.Sprintf("run %q", runID))
	}
	if resp.Run == nil {
		return nil, fmt.Errorf("MLflow GET %s: %w", pathRun, errEmptyAnswer)
	}
	run := &Run{
		ID:      resp.Run.Info.RunID,
		Status:  resp.Run.Info.Status,
		Metrics: resp.Run.Data.Metrics.latest(),
		Params:  make(map[string]string, len(resp.Run.Data.Params)),
	}
	if run.ID == "" {
		run.ID = resp.Run.Info.RunUUID
	}
	if run.Metrics == nil {
		run.Metrics = map[string]float64{}
	}
	for _, p := range resp.Run.Data.Params {
		run.Params[p.Key] = p.Value
	}
	return run, nil
}

// VersionMetrics returns the evaluation metrics of a model version: those on
// the version itself when the server provides them, else those linked to the
// logged model it was registered from (MLflow 3's model_id), else those of
// the run that produced it.
func (c *Client) VersionMetrics(ctx context.Context, mv *ModelVersion) (map[string]float64, error) {
	if mv == nil {
		return nil, errors.New("MLflow: no model version given to read metrics from")
	}
	if len(mv.Metrics) > 0 {
		out := make(map[string]float64, len(mv.Metrics))
		for k, v := range mv.Metrics {
			out[k] = v
		}
		return out, nil
	}
	if mv.ModelID != "" {
		m, err := c.loggedModelMetrics(ctx, mv.ModelID)
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			return m, nil
		}
	}
	if mv.RunID == "" {
		return nil, fmt.Errorf("MLflow: model %q version %s has no metrics and no run_id to read them from; register the version from a run that logged its evaluation metrics", mv.Name, mv.Version)
	}
	run, err := c.GetRun(ctx, mv.RunID)
	if err != nil {
		return nil, err
	}
	return run.Metrics, nil
}

// loggedModelMetrics reads the metrics linked to an MLflow 3 logged model
// (GET /api/2.0/mlflow/logged-models/{model_id}, a path parameter: the
// server reads no query or body for it).
func (c *Client) loggedModelMetrics(ctx context.Context, modelID string) (map[string]float64, error) {
	var resp loggedModelResponse
	if err := c.call(ctx, http.MethodGet, pathLoggedModel+url.PathEscape(modelID), nil, nil, &resp); err != nil {
		return nil, withSubject(err, fmt.Sprintf("logged model %q", modelID))
	}
	if resp.Model == nil {
		return nil, fmt.Errorf("MLflow GET %s: %w", pathLoggedModel, errEmptyAnswer)
	}
	return resp.Model.Data.Metrics.latest(), nil
}

// SetAlias points alias of model name at version.
func (c *Client) SetAlias(ctx context.Context, name, alias, version string) error {
	if err := required("model name", name, "alias", alias, "version", version); err != nil {
		return err
	}
	if err := c.CheckModelName(name); err != nil {
		return err
	}
	_, pathAlias := c.modelPaths()
	body := map[string]string{"name": name, "alias": alias, "version": version}
	if err := c.call(ctx, http.MethodPost, pathAlias, nil, body, nil); err != nil {
		return withSubject(err, fmt.Sprintf("model %q version %s", name, version))
	}
	return nil
}

// DeleteAlias removes alias from model name. The parameters travel as a
// JSON body: MLflow's server reads the query string only for GET
// (mlflow/server/handlers.py, _get_request_message) and MLflow's own client
// sends every other method's parameters as JSON (mlflow/utils/rest_utils.py,
// call_endpoint), so a DELETE with a query string is answered 400 "Missing
// value for required parameter 'name'".
func (c *Client) DeleteAlias(ctx context.Context, name, alias string) error {
	if err := required("model name", name, "alias", alias); err != nil {
		return err
	}
	if err := c.CheckModelName(name); err != nil {
		return err
	}
	_, pathAlias := c.modelPaths()
	body := map[string]string{"name": name, "alias": alias}
	if err := c.call(ctx, http.MethodDelete, pathAlias, nil, body, nil); err != nil {
		return withSubject(err, fmt.Sprintf("model %q", name))
	}
	return nil
}

// required checks (label, value) pairs and names the first empty one.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("MLflow: the %s is empty; pass a non-empty %s", pairs[i], pairs[i])
		}
	}
	return nil
}
