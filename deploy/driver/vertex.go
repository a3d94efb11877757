package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// vertexDriver rolls a model version out to a Vertex AI endpoint through
// its REST API (https://cloud.google.com/vertex-ai/docs/reference/rest).
//
// The first step uploads a model from the registry's artifact location
// (models.upload) and deploys it to the endpoint with the step's share of
// the traffic (endpoints.deployModel, "0" in the split naming the new
// model); later steps move the split (endpoints.patch trafficSplit); at
// 100 % the model that served before is undeployed. The uploaded model is
// labelled with the model that served before, so Rollback can restore the
// previous split (and redeploy that model if it was already undeployed),
// then undeploys the candidate.
type vertexDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
}

func newVertexDriver(b base, cfg serverconfig.Driver, deps Deps) *vertexDriver {
	if cfg.MachineType == "" {
		cfg.MachineType = "n1-standard-2"
	}
	if cfg.EndpointURL == "" {
		cfg.EndpointURL = "https://" + cfg.Region + "-aiplatform.googleapis.com"
	}
	return &vertexDriver{base: b, cfg: cfg, deps: deps}
}

// checkVertex returns the problems of a vertex driver entry.
func checkVertex(name string, d serverconfig.Driver, registryDefined func(string) bool) []string {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, kv := range [][2]string{{"project", d.Project}, {"region", d.Region}, {"endpoint", d.Endpoint}, {"image", d.Image}} {
		if kv[1] == "" {
			add("drivers.%s.%s: missing (a vertex driver needs project, region, endpoint (the endpoint ID) and image)", name, kv[0])
		}
	}
	if registryDefined != nil && !registryDefined(d.Registry) {
		add("drivers.%s.registry: %q is not defined under registries (the driver reads the model's artifact location there)", name, d.Registry)
	}
	return problems
}

const labelPrevious = "conveyor-previous-model"

type vxDeployed struct {
	ID          string `json:"id"`
	Model       string `json:"model"`
	DisplayName string `json:"displayName"`
}

type vxEndpoint struct {
	Name           string         `json:"name"`
	DeployedModels []vxDeployed   `json:"deployedModels"`
	TrafficSplit   map[string]int `json:"trafficSplit"`
}

type vxOperation struct {
	Name     string          `json:"name"`
	Done     bool            `json:"done"`
	Error    *vxStatus       `json:"error"`
	Response json.RawMessage `json:"response"`
}

type vxStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// vxClient is one action's authorised REST client.
type vxClient struct {
	base string
	hc   *http.Client
}

func (d *vertexDriver) client(ctx context.Context) (*vxClient, error) {
	var ts oauth2.TokenSource
	if d.cfg.CredentialsFile != "" {
		key, err := os.ReadFile(d.cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("credentials_file: %w", err)
		}
		creds, err := google.CredentialsFromJSON(ctx, key, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			return nil, fmt.Errorf("credentials_file %s: %w", d.cfg.CredentialsFile, err)
		}
		ts = creds.TokenSource
	} else {
		var err error
		if ts, err = google.DefaultTokenSource(ctx, "https://www.googleapis.com/auth/cloud-platform"); err != nil {
			return nil, fmt.Errorf("application default credentials: %w", err)
		}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, d.deps.HTTP)
	return &vxClient{base: strings.TrimRight(d.cfg.EndpointURL, "/") + "/v1/", hc: oauth2.NewClient(ctx, ts)}, nil
}

// do sends a JSON request; Google's error shape becomes the error text.
func (c *vxClient) do(ctx context.Context, method, resource string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+resource, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return unwrapURLError(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error vxStatus `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %s (%d %s)", method, resource, e.Error.Message, e.Error.Code, e.Error.Status)
		}
		return fmt.Errorf("%s %s answered %d (%s)", method, resource, resp.StatusCode, snippet(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// wait polls a long-running operation until done, within ctx.
func (d *vertexDriver) wait(ctx context.Context, c *vxClient, op vxOperation, what string, p *progress, out any) error {
	p.Printf("%s: waiting for operation %s", what, path.Base(op.Name))
	for !op.Done {
		if err := sleepCtx(ctx, d.cfg.PollInterval.Duration); err != nil {
			return fmt.Errorf("%s: operation %s not done: %w", what, op.Name, err)
		}
		if err := c.do(ctx, http.MethodGet, op.Name, nil, &op); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if op.Error != nil {
		return fmt.Errorf("%s failed: %s (code %d)", what, op.Error.Message, op.Error.Code)
	}
	if out != nil {
		return json.Unmarshal(op.Response, out)
	}
	return nil
}

func (d *vertexDriver) endpointName(t Target) string {
	id := strings.NewReplacer("{artifact}", t.Artifact, "{environment}", t.Environment).Replace(d.cfg.Endpoint)
	return fmt.Sprintf("projects/%s/locations/%s/endpoints/%s", d.cfg.Project, d.cfg.Region, id)
}

func (d *vertexDriver) check(ctx context.Context, t Target, deploy bool) error {
	return d.requireModel(ctx, t, deploy, true, "the vertex driver deploys kind: model artifacts; point an app's deploy.driver at an app driver")
}

// Deploy implements Driver.
func (d *vertexDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	if err := d.check(ctx, t, true); err != nil {
		return Result{}, err
	}
	return d.run(ctx, t, log, true, "look at the endpoint and its operations in the Vertex AI console, then deploy again",
		func(ctx context.Context, p *progress) (Result, error) { return d.deploy(ctx, t, p) })
}

func (d *vertexDriver) deploy(ctx context.Context, t Target, p *progress) (Result, error) {
	c, err := d.client(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Serving: t.ModelRef().Version, Previous: t.Previous}
	epName, display := d.endpointName(t), smName(t.Artifact+"-v"+t.ModelRef().Version)
	var ep vxEndpoint
	if err := c.do(ctx, http.MethodGet, epName, nil, &ep); err != nil {
		return res, err
	}
	cand, prev := ep.split(display)
	if prev != nil && len(ep.DeployedModels) > 2 {
		return res, fmt.Errorf("endpoint %s has %d deployed models; the vertex driver rolls out from one", epName, len(ep.DeployedModels))
	}
	pct := t.Percent
	if cand == nil {
		model, err := d.upload(ctx, c, t, display, prev, p)
		if err != nil {
			return res, err
		}
		split := map[string]int{"0": 100}
		if prev != nil {
			split = map[string]int{"0": pct, prev.ID: 100 - pct}
		}
		req := map[string]any{
			"deployedModel": map[string]any{"model": model, "displayName": display,
				"dedicatedResources": map[string]any{"machineSpec": map[string]string{"machineType": d.cfg.MachineType}, "minReplicaCount": 1}},
			"trafficSplit": split,
		}
		var op vxOperation
		if err := c.do(ctx, http.MethodPost, epName+":deployModel", req, &op); err != nil {
			return res, err
		}
		var out struct {
			DeployedModel vxDeployed `json:"deployedModel"`
		}
		if err := d.wait(ctx, c, op, "deploy "+display, p, &out); err != nil {
			return res, err
		}
		cand = &out.DeployedModel
		p.Printf("endpoint %s: %s deployed with %d %% of traffic", path.Base(epName), display, split["0"])
	} else if prev != nil {
		split := map[string]int{cand.ID: pct, prev.ID: 100 - pct}
		if err := c.do(ctx, http.MethodPatch, epName+"?updateMask=trafficSplit", map[string]any{"trafficSplit": split}, &ep); err != nil {
			return res, err
		}
		p.Printf("endpoint %s: %d %% of traffic to %s", path.Base(epName), pct, display)
	}
	if prev != nil && pct >= 100 {
		if err := d.undeploy(ctx, c, epName, prev, map[string]int{cand.ID: 100}, p); err != nil {
			return res, err
		}
	}
	return res, nil
}

// split finds the candidate (by display name) and the one other deployed
// model, the one serving before.
func (ep vxEndpoint) split(display string) (cand, prev *vxDeployed) {
	for i := range ep.DeployedModels {
		if ep.DeployedModels[i].DisplayName == display {
			cand = &ep.DeployedModels[i]
		} else if prev == nil {
			prev = &ep.DeployedModels[i]
		}
	}
	return cand, prev
}

// upload creates the candidate model from the registry's artifact
// location, labelled with the model that served before.
func (d *vertexDriver) upload(ctx context.Context, c *vxClient, t Target, display string, prev *vxDeployed, p *progress) (string, error) {
	m := t.ModelRef()
	source, err := artifactLocation(ctx, d.deps, d.cfg.Registry, m.Name, m.Version)
	if err != nil {
		return "", err
	}
	labels := map[string]string{}
	if prev != nil {
		labels[labelPrevious] = path.Base(prev.Model)
	}
	req := map[string]any{"model": map[string]any{"displayName": display, "artifactUri": source, "labels": labels,
		"containerSpec": map[string]string{"imageUri": d.cfg.Image}}}
	var op vxOperation
	parent := fmt.Sprintf("projects/%s/locations/%s", d.cfg.Project, d.cfg.Region)
	if err := c.do(ctx, http.MethodPost, parent+"/models:upload", req, &op); err != nil {
		return "", err
	}
	var out struct {
		Model string `json:"model"`
	}
	if err := d.wait(ctx, c, op, "upload "+display, p, &out); err != nil {
		return "", err
	}
	p.Printf("model %s uploaded from %s", display, source)
	return out.Model, nil
}

func (d *vertexDriver) undeploy(ctx context.Context, c *vxClient, epName string, m *vxDeployed, split map[string]int, p *progress) error {
	req := map[string]any{"deployedModelId": m.ID}
	if len(split) > 0 {
		req["trafficSplit"] = split
	}
	var op vxOperation
	if err := c.do(ctx, http.MethodPost, epName+":undeployModel", req, &op); err != nil {
		return err
	}
	if err := d.wait(ctx, c, op, "undeploy "+m.DisplayName, p, nil); err != nil {
		return err
	}
	p.Printf("endpoint %s: %s undeployed", path.Base(epName), m.DisplayName)
	return nil
}

// Rollback implements Driver: the previous model gets all traffic again
// (deployed again if the rollout had undeployed it) and the candidate is
// undeployed.
func (d *vertexDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	if err := d.check(ctx, t, false); err != nil {
		return Result{}, err
	}
	return d.run(ctx, t, log, false, "restore the endpoint's traffic split by hand in Vertex AI if this keeps failing",
		func(ctx context.Context, p *progress) (Result, error) { return d.rollback(ctx, t, p) })
}

func (d *vertexDriver) rollback(ctx context.Context, t Target, p *progress) (Result, error) {
	c, err := d.client(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Serving: t.Previous, Previous: t.ModelRef().Version}
	epName, display := d.endpointName(t), smName(t.Artifact+"-v"+t.ModelRef().Version)
	var ep vxEndpoint
	if err := c.do(ctx, http.MethodGet, epName, nil, &ep); err != nil {
		return res, err
	}
	cand, prev := ep.split(display)
	if cand == nil {
		p.Printf("endpoint %s does not serve %s; nothing to restore", path.Base(epName), display)
		return res, nil
	}
	if prev == nil {
		var m struct {
			Labels map[string]string `json:"labels"`
		}
		if err := c.do(ctx, http.MethodGet, cand.Model, nil, &m); err != nil {
			return res, err
		}
		if id := m.Labels[labelPrevious]; id != "" {
			// The rollout reached 100 % and undeployed it: deploy it again.
			prevModel := path.Dir(cand.Model) + "/" + id
			var pm struct {
				DisplayName string `json:"displayName"`
			}
			if err := c.do(ctx, http.MethodGet, prevModel, nil, &pm); err != nil {
				return res, err
			}
			req := map[string]any{
				"deployedModel": map[string]any{"model": prevModel, "displayName": pm.DisplayName,
					"dedicatedResources": map[string]any{"machineSpec": map[string]string{"machineType": d.cfg.MachineType}, "minReplicaCount": 1}},
				"trafficSplit": map[string]int{"0": 100, cand.ID: 0},
			}
			var op vxOperation
			if err := c.do(ctx, http.MethodPost, epName+":deployModel", req, &op); err != nil {
				return res, err
			}
			var out struct {
				DeployedModel vxDeployed `json:"deployedModel"`
			}
			if err := d.wait(ctx, c, op, "redeploy "+pm.DisplayName, p, &out); err != nil {
				return res, err
			}
			prev = &out.DeployedModel
			p.Printf("endpoint %s: %s deployed again with all traffic", path.Base(epName), pm.DisplayName)
		}
	} else if err := c.do(ctx, http.MethodPatch, epName+"?updateMask=trafficSplit", map[string]any{"trafficSplit": map[string]int{prev.ID: 100, cand.ID: 0}}, &ep); err != nil {
		return res, err
	} else {
		p.Printf("endpoint %s: all traffic back to %s", path.Base(epName), prev.DisplayName)
	}
	split := map[string]int{}
	if prev != nil {
		split[prev.ID] = 100
	}
	return res, d.undeploy(ctx, c, epName, cand, split, p)
}

// artifactLocation is where the registry keeps a model version's files.
func artifactLocation(ctx context.Context, deps Deps, registry, name, version string) (string, error) {
	reg, err := deps.MLflow(registry)
	if err != nil {
		return "", fmt.Errorf("registry %q: %w", registry, err)
	}
	vs, ok := reg.(versionSource)
	if !ok {
		return "", fmt.Errorf("registry %q cannot look up model versions", registry)
	}
	mv, err := vs.GetModelVersion(ctx, name, version)
	if err != nil {
		return "", fmt.Errorf("read model %s version %s: %w", name, version, err)
	}
	if mv.Source == "" {
		return "", fmt.Errorf("model %s version %s has no artifact location (source) in the registry", name, version)
	}
	return mv.Source, nil
}
