package mlflow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// versionTagsResponse is the part of GetModelVersion's answer holding the
// version's tags: ModelVersion.tags, a list of ModelVersionTag {key, value}
// in the workspace registry (mlflow/protos/model_registry.proto) and in Unity
// Catalog (databricks_uc_registry_messages.proto) alike. Protobuf's JSON
// mapping leaves an empty list out.
type versionTagsResponse struct {
	ModelVersion *struct {
		Tags []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"tags"`
	} `json:"model_version"`
}

// VersionTags reads the tags of version of model name (GET
// model-versions/get, the endpoint GetModelVersion calls): what a team
// records on a version after registering it, such as a drift score measured
// in production. A version without tags gives an empty map.
func (c *Client) VersionTags(ctx context.Context, name, version string) (map[string]string, error) {
	if err := required("model name", name, "version", version); err != nil {
		return nil, err
	}
	if err := c.CheckModelName(name); err != nil {
		return nil, err
	}
	path, _ := c.modelPaths()
	var resp versionTagsResponse
	q := url.Values{"name": {name}, "version": {version}}
	if err := c.call(ctx, http.MethodGet, path, q, nil, &resp); err != nil {
		return nil, withSubject(err, fmt.Sprintf("model %q version %s", name, version))
	}
	if resp.ModelVersion == nil {
		return nil, fmt.Errorf("MLflow GET %s: %w", path, errEmptyAnswer)
	}
	out := make(map[string]string, len(resp.ModelVersion.Tags))
	for _, t := range resp.ModelVersion.Tags {
		out[t.Key] = t.Value
	}
	return out, nil
}
