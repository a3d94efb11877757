package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	aiplatform "google.golang.org/api/aiplatform/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// vertexDriver rolls a model version out to a Vertex AI endpoint with
// Google's discovery-based client for the Vertex AI API
// (google.golang.org/api/aiplatform/v1; the REST reference is
// https://cloud.google.com/vertex-ai/docs/reference/rest).
//
// The first step uploads a model from the registry's artifact location
// (models.upload) and deploys it to the endpoint with the step's share of
// the traffic (endpoints.deployModel, "0" in the split naming the new
// model); later steps move the split (endpoints.patch with updateMask
// trafficSplit: the split is a field of the Endpoint, which
// endpoints.mutateDeployedModel cannot change — it mutates replica counts,
// autoscaling and logging only); at 100 % the model that served before is
// undeployed. The uploaded model is labelled with the model that served
// before, so Rollback can restore the previous split (and redeploy that
// model if it was already undeployed), then undeploys the candidate.
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

// vertexScope is the OAuth scope the Vertex AI API accepts for every
// method the driver calls.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

// client is one action's Vertex AI service: the key file's or Application
// Default Credentials' token source, the driver's endpoint URL.
func (d *vertexDriver) client(ctx context.Context) (*aiplatform.Service, error) {
	// The token exchange goes through deps.HTTP like every other call.
	tctx := context.WithValue(ctx, oauth2.HTTPClient, d.deps.HTTP)
	var ts oauth2.TokenSource
	if d.cfg.CredentialsFile != "" {
		key, err := os.ReadFile(d.cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("credentials_file: %w", err)
		}
		// Only a service account key: a key file of another type (an
		// external account's, say) would make the driver fetch and run
		// whatever it names.
		creds, err := google.CredentialsFromJSONWithType(tctx, key, google.ServiceAccount, vertexScope)
		if err != nil {
			return nil, fmt.Errorf("credentials_file %s: %w", d.cfg.CredentialsFile, err)
		}
		ts = creds.TokenSource
	} else {
		var err error
		if ts, err = google.DefaultTokenSource(tctx, vertexScope); err != nil {
			return nil, fmt.Errorf("application default credentials: %w", err)
		}
	}
	svc, err := aiplatform.NewService(ctx,
		option.WithHTTPClient(oauth2.NewClient(tctx, ts)),
		option.WithEndpoint(strings.TrimRight(d.cfg.EndpointURL, "/")+"/"))
	if err != nil {
		return nil, fmt.Errorf("vertex AI client: %w", err)
	}
	return svc, nil
}

// googleErr shortens the client's error to Google's message, code and
// status ("Quota exceeded ... (429 RESOURCE_EXHAUSTED)").
func googleErr(what string, err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return fmt.Errorf("%s: %w", what, unwrapURLError(err))
	}
	var body struct {
		Error struct {
			Status string `json:"status"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(ge.Body), &body)
	msg := ge.Message
	if msg == "" {
		msg = snippet([]byte(ge.Body))
	}
	return fmt.Errorf("%s: %s (%d %s)", what, msg, ge.Code, body.Error.Status)
}

// wait polls a long-running operation (operations.get) until done, within
// ctx, and decodes its response into out.
func (d *vertexDriver) wait(ctx context.Context, svc *aiplatform.Service, op *aiplatform.GoogleLongrunningOperation, what string, p *progress, out any) error {
	p.Printf("%s: waiting for operation %s", what, path.Base(op.Name))
	for !op.Done {
		if err := sleepCtx(ctx, d.cfg.PollInterval.Duration); err != nil {
			return fmt.Errorf("%s: operation %s not done: %w", what, op.Name, err)
		}
		next, err := svc.Projects.Locations.Operations.Get(op.Name).Context(ctx).Do()
		if err != nil {
			return googleErr(what, err)
		}
		op = next
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
	svc, err := d.client(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Serving: t.ModelRef().Version, Previous: t.Previous}
	epName, display := d.endpointName(t), smName(t.Artifact+"-v"+t.ModelRef().Version)
	ep, err := svc.Projects.Locations.Endpoints.Get(epName).Context(ctx).Do()
	if err != nil {
		return res, googleErr("read endpoint "+epName, err)
	}
	cand, prev := split(ep, display)
	if prev != nil && len(ep.DeployedModels) > 2 {
		return res, fmt.Errorf("endpoint %s has %d deployed models; the vertex driver rolls out from one", epName, len(ep.DeployedModels))
	}
	pct := int64(t.Percent)
	if cand == nil {
		model, err := d.upload(ctx, svc, t, display, prev, p)
		if err != nil {
			return res, err
		}
		traffic := map[string]int64{"0": 100}
		if prev != nil {
			traffic = map[string]int64{"0": pct, prev.Id: 100 - pct}
		}
		if cand, err = d.deployModel(ctx, svc, epName, model, display, traffic, p); err != nil {
			return res, err
		}
		p.Printf("endpoint %s: %s deployed with %d %% of traffic", path.Base(epName), display, traffic["0"])
	} else if prev != nil {
		if err := d.setSplit(ctx, svc, epName, map[string]int64{cand.Id: pct, prev.Id: 100 - pct}); err != nil {
			return res, err
		}
		p.Printf("endpoint %s: %d %% of traffic to %s", path.Base(epName), pct, display)
	}
	if prev != nil && pct >= 100 {
		if err := d.undeploy(ctx, svc, epName, prev, map[string]int64{cand.Id: 100}, p); err != nil {
			return res, err
		}
	}
	return res, nil
}

// split finds the candidate (by display name) and the one other deployed
// model, the one serving before.
func split(ep *aiplatform.GoogleCloudAiplatformV1Endpoint, display string) (cand, prev *aiplatform.GoogleCloudAiplatformV1DeployedModel) {
	for _, m := range ep.DeployedModels {
		if m.DisplayName == display {
			cand = m
		} else if prev == nil {
			prev = m
		}
	}
	return cand, prev
}

// setSplit moves the endpoint's traffic (endpoints.patch of trafficSplit).
func (d *vertexDriver) setSplit(ctx context.Context, svc *aiplatform.Service, epName string, traffic map[string]int64) error {
	_, err := svc.Projects.Locations.Endpoints.Patch(epName, &aiplatform.GoogleCloudAiplatformV1Endpoint{TrafficSplit: traffic}).
		UpdateMask("trafficSplit").Context(ctx).Do()
	if err != nil {
		return googleErr("set the traffic split of "+epName, err)
	}
	return nil
}

// deployModel deploys model to the endpoint with traffic ("0" is the model
// being deployed) and returns the deployed model.
func (d *vertexDriver) deployModel(ctx context.Context, svc *aiplatform.Service, epName, model, display string, traffic map[string]int64, p *progress) (*aiplatform.GoogleCloudAiplatformV1DeployedModel, error) {
	req := &aiplatform.GoogleCloudAiplatformV1DeployModelRequest{
		DeployedModel: &aiplatform.GoogleCloudAiplatformV1DeployedModel{
			Model: model, DisplayName: display,
			DedicatedResources: &aiplatform.GoogleCloudAiplatformV1DedicatedResources{
				MachineSpec: &aiplatform.GoogleCloudAiplatformV1MachineSpec{MachineType: d.cfg.MachineType}, MinReplicaCount: 1,
			},
		},
		TrafficSplit: traffic,
	}
	op, err := svc.Projects.Locations.Endpoints.DeployModel(epName, req).Context(ctx).Do()
	if err != nil {
		return nil, googleErr("deploy "+display+" to "+epName, err)
	}
	var out aiplatform.GoogleCloudAiplatformV1DeployModelResponse
	if err := d.wait(ctx, svc, op, "deploy "+display, p, &out); err != nil {
		return nil, err
	}
	if out.DeployedModel == nil {
		return nil, fmt.Errorf("deploy %s: the operation's response names no deployed model", display)
	}
	return out.DeployedModel, nil
}

// upload creates the candidate model from the registry's artifact
// location, labelled with the model that served before.
func (d *vertexDriver) upload(ctx context.Context, svc *aiplatform.Service, t Target, display string, prev *aiplatform.GoogleCloudAiplatformV1DeployedModel, p *progress) (string, error) {
	m := t.ModelRef()
	source, err := artifactLocation(ctx, d.deps, d.cfg.Registry, m.Name, m.Version)
	if err != nil {
		return "", err
	}
	var labels map[string]string
	if prev != nil {
		labels = map[string]string{labelPrevious: path.Base(prev.Model)}
	}
	parent := fmt.Sprintf("projects/%s/locations/%s", d.cfg.Project, d.cfg.Region)
	op, err := svc.Projects.Locations.Models.Upload(parent, &aiplatform.GoogleCloudAiplatformV1UploadModelRequest{
		Model: &aiplatform.GoogleCloudAiplatformV1Model{DisplayName: display, ArtifactUri: source, Labels: labels,
			ContainerSpec: &aiplatform.GoogleCloudAiplatformV1ModelContainerSpec{ImageUri: d.cfg.Image}},
	}).Context(ctx).Do()
	if err != nil {
		return "", googleErr("upload "+display, err)
	}
	var out aiplatform.GoogleCloudAiplatformV1UploadModelResponse
	if err := d.wait(ctx, svc, op, "upload "+display, p, &out); err != nil {
		return "", err
	}
	p.Printf("model %s uploaded from %s", display, source)
	return out.Model, nil
}

func (d *vertexDriver) undeploy(ctx context.Context, svc *aiplatform.Service, epName string, m *aiplatform.GoogleCloudAiplatformV1DeployedModel, traffic map[string]int64, p *progress) error {
	op, err := svc.Projects.Locations.Endpoints.UndeployModel(epName, &aiplatform.GoogleCloudAiplatformV1UndeployModelRequest{
		DeployedModelId: m.Id, TrafficSplit: traffic,
	}).Context(ctx).Do()
	if err != nil {
		return googleErr("undeploy "+m.DisplayName+" from "+epName, err)
	}
	if err := d.wait(ctx, svc, op, "undeploy "+m.DisplayName, p, nil); err != nil {
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
	svc, err := d.client(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Serving: t.Previous, Previous: t.ModelRef().Version}
	epName, display := d.endpointName(t), smName(t.Artifact+"-v"+t.ModelRef().Version)
	ep, err := svc.Projects.Locations.Endpoints.Get(epName).Context(ctx).Do()
	if err != nil {
		return res, googleErr("read endpoint "+epName, err)
	}
	cand, prev := split(ep, display)
	if cand == nil {
		p.Printf("endpoint %s does not serve %s; nothing to restore", path.Base(epName), display)
		return res, nil
	}
	if prev == nil {
		m, err := svc.Projects.Locations.Models.Get(cand.Model).Context(ctx).Do()
		if err != nil {
			return res, googleErr("read model "+cand.Model, err)
		}
		if id := m.Labels[labelPrevious]; id != "" {
			// The rollout reached 100 % and undeployed it: deploy it again.
			prevModel := path.Dir(cand.Model) + "/" + id
			pm, err := svc.Projects.Locations.Models.Get(prevModel).Context(ctx).Do()
			if err != nil {
				return res, googleErr("read model "+prevModel, err)
			}
			if prev, err = d.deployModel(ctx, svc, epName, prevModel, pm.DisplayName, map[string]int64{"0": 100, cand.Id: 0}, p); err != nil {
				return res, err
			}
			p.Printf("endpoint %s: %s deployed again with all traffic", path.Base(epName), pm.DisplayName)
		}
	} else {
		if err := d.setSplit(ctx, svc, epName, map[string]int64{prev.Id: 100, cand.Id: 0}); err != nil {
			return res, err
		}
		p.Printf("endpoint %s: all traffic back to %s", path.Base(epName), prev.DisplayName)
	}
	var traffic map[string]int64
	if prev != nil {
		traffic = map[string]int64{prev.Id: 100}
	}
	return res, d.undeploy(ctx, svc, epName, cand, traffic, p)
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
