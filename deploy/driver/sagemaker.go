package driver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// sagemakerDriver rolls a model version out to a SageMaker real-time
// endpoint by shifting traffic between two production variants.
//
// The first partial step creates a model from the registry's artifact
// location (the version's source) and an endpoint config with two
// variants, the one serving now and the candidate, weighted 100-p : p, and
// moves the endpoint to it; later partial steps only change the weights
// (UpdateEndpointWeightsAndCapacities). At 100 % the endpoint moves to a
// config with the candidate alone. Every change waits for InService
// (DescribeEndpoint, bounded by the driver's timeout). The configs it
// creates carry a tag naming the endpoint config that served before the
// deployment, which is what Rollback restores (or, when the deployment
// created the endpoint, deletes it).
type sagemakerDriver struct {
	base
	cfg  serverconfig.Driver
	deps Deps
	poll time.Duration
}

const (
	tagPrevious   = "conveyor:previous-endpoint-config"
	tagDeployment = "conveyor:deployment"
)

func newSageMakerDriver(b base, cfg serverconfig.Driver, deps Deps) *sagemakerDriver {
	if cfg.InstanceType == "" {
		cfg.InstanceType = "ml.m5.large"
	}
	if cfg.InstanceCount <= 0 {
		cfg.InstanceCount = 1
	}
	return &sagemakerDriver{base: b, cfg: cfg, deps: deps, poll: cfg.PollInterval.Duration}
}

// checkSageMaker returns the problems of a sagemaker driver entry.
func checkSageMaker(name string, d serverconfig.Driver, registryDefined func(string) bool) []string {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if d.Endpoint == "" {
		add("drivers.%s.endpoint: missing (the endpoint name, for example \"{artifact}-{environment}\")", name)
	}
	if d.Image == "" {
		add("drivers.%s.image: missing (the inference container image the models run in)", name)
	}
	if d.RoleARN == "" {
		add("drivers.%s.role_arn: missing (the execution role SageMaker assumes for the models)", name)
	}
	if d.Region == "" {
		add("drivers.%s.region: missing (for example us-east-1)", name)
	}
	if (d.AccessKeyEnv == "") != (d.SecretKeyEnv == "") {
		add("drivers.%s: name both access_key_env and secret_key_env, or neither (then the AWS SDK's default credential chain is used)", name)
	}
	if d.EndpointURL != "" {
		if u, err := url.Parse(d.EndpointURL); err != nil || u.Host == "" {
			add("drivers.%s.endpoint_url: %q is not a URL", name, d.EndpointURL)
		}
	}
	if registryDefined != nil && !registryDefined(d.Registry) {
		add("drivers.%s.registry: %q is not defined under registries (the driver reads the model's artifact location there)", name, d.Registry)
	}
	return problems
}

func (d *sagemakerDriver) client(ctx context.Context) (*sagemaker.Client, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(d.cfg.Region)}
	if d.cfg.AccessKeyEnv != "" {
		id, secret := d.deps.Env(d.cfg.AccessKeyEnv), d.deps.Env(d.cfg.SecretKeyEnv)
		if id == "" || secret == "" {
			return nil, fmt.Errorf("%s and %s must both hold a value", d.cfg.AccessKeyEnv, d.cfg.SecretKeyEnv)
		}
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS config: %w", err)
	}
	return sagemaker.NewFromConfig(awsCfg, func(o *sagemaker.Options) {
		if d.cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(d.cfg.EndpointURL)
		}
	}), nil
}

var notInName = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

// smName makes s a SageMaker resource name: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
func smName(s string) string {
	s = notInName.ReplaceAllString(s, "-")
	s = strings.Trim(s, "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// names are what one deployment of t calls its resources.
type smNames struct {
	endpoint, model, variant, canary, final string
}

func (d *sagemakerDriver) names(t Target) smNames {
	m := t.ModelRef()
	ep := smName(strings.NewReplacer("{artifact}", t.Artifact, "{environment}", t.Environment).Replace(d.cfg.Endpoint))
	variant := smName("v" + m.Version)
	suffix := fmt.Sprintf("-%s-d%d", variant, t.DeploymentID)
	trunc := func(base string, tail string) string { return smName(base[:min(len(base), 63-len(tail))] + tail) }
	return smNames{
		endpoint: ep,
		model:    trunc(smName(t.Artifact), "-"+variant),
		variant:  variant,
		canary:   trunc(ep, suffix+"-canary"),
		final:    trunc(ep, suffix),
	}
}

func (d *sagemakerDriver) check(ctx context.Context, t Target, deploy bool) error {
	return d.requireModel(ctx, t, deploy, true, "the sagemaker driver deploys kind: model artifacts; point an app's deploy.driver at an app driver")
}

// Deploy implements Driver.
func (d *sagemakerDriver) Deploy(ctx context.Context, t Target, log Logger) (Result, error) {
	if err := d.check(ctx, t, true); err != nil {
		return Result{}, err
	}
	return d.run(ctx, t, log, true, "look at the endpoint in the SageMaker console (its FailureReason and CloudWatch logs), then deploy again",
		func(ctx context.Context, p *progress) (Result, error) { return d.deploy(ctx, t, p) })
}

func (d *sagemakerDriver) deploy(ctx context.Context, t Target, p *progress) (Result, error) {
	sm, err := d.client(ctx)
	if err != nil {
		return Result{}, err
	}
	n := d.names(t)
	res := Result{Serving: t.ModelRef().Version, Previous: t.Previous}
	if err := d.ensureModel(ctx, sm, t, n, p); err != nil {
		return res, err
	}
	ep, err := d.settled(ctx, sm, n.endpoint, "", p)
	if notFound(err) {
		// Nothing serves: the candidate takes all traffic at once.
		if err := d.createConfig(ctx, sm, n.final, []smtypes.ProductionVariant{d.variant(n, 1)}, "", t); err != nil {
			return res, err
		}
		if _, err := sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: &n.endpoint, EndpointConfigName: &n.final}); err != nil {
			return res, fmt.Errorf("create endpoint %s: %w", n.endpoint, apiErr(err))
		}
		p.Printf("endpoint %s created with %s alone (100 %%: nothing served before)", n.endpoint, n.variant)
		_, err := d.settled(ctx, sm, n.endpoint, n.final, p)
		return res, err
	}
	if err != nil {
		return res, err
	}
	weights := map[string]float32{}
	for _, v := range ep.ProductionVariants {
		weights[aws.ToString(v.VariantName)] = aws.ToFloat32(v.CurrentWeight)
	}
	_, hasCandidate := weights[n.variant]
	if res.Previous == "" && len(weights) == 1 && !hasCandidate {
		// What serves now, for the rollback baseline: a variant this
		// driver created is named v<version>.
		for name := range weights {
			res.Previous = strings.TrimPrefix(name, "v")
		}
	}
	switch {
	case hasCandidate && len(weights) == 1:
		p.Printf("endpoint %s already serves %s alone", n.endpoint, n.variant)
		return res, nil
	case hasCandidate && t.Percent < 100:
		var dw []smtypes.DesiredWeightAndCapacity
		for name := range weights {
			w := float32(100 - t.Percent)
			if name == n.variant {
				w = float32(t.Percent)
			}
			dw = append(dw, smtypes.DesiredWeightAndCapacity{VariantName: aws.String(name), DesiredWeight: aws.Float32(w)})
		}
		if _, err := sm.UpdateEndpointWeightsAndCapacities(ctx, &sagemaker.UpdateEndpointWeightsAndCapacitiesInput{EndpointName: &n.endpoint, DesiredWeightsAndCapacities: dw}); err != nil {
			return res, fmt.Errorf("shift traffic on %s: %w", n.endpoint, apiErr(err))
		}
		p.Printf("endpoint %s: %d %% of traffic to %s", n.endpoint, t.Percent, n.variant)
		_, err := d.settled(ctx, sm, n.endpoint, "", p)
		return res, err
	}
	// The endpoint moves to a config of ours: which one served before is
	// what its tag remembers for Rollback.
	prevConfig := aws.ToString(ep.EndpointConfigName)
	if tags, err := d.tags(ctx, sm, prevConfig); err != nil {
		return res, err
	} else if tags[tagDeployment] == strconv.FormatInt(t.DeploymentID, 10) {
		prevConfig = tags[tagPrevious] // the canary config of this deployment
	}
	target, variants := n.final, []smtypes.ProductionVariant{d.variant(n, 1)}
	if t.Percent < 100 {
		if len(weights) != 1 {
			return res, fmt.Errorf("endpoint %s has %d variants; it must serve one before a canary is added", n.endpoint, len(weights))
		}
		cur, err := d.currentVariant(ctx, sm, prevConfig)
		if err != nil {
			return res, err
		}
		cur.InitialVariantWeight = aws.Float32(float32(100 - t.Percent))
		target, variants = n.canary, []smtypes.ProductionVariant{cur, d.variant(n, float32(t.Percent))}
	}
	if err := d.createConfig(ctx, sm, target, variants, prevConfig, t); err != nil {
		return res, err
	}
	if _, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: &n.endpoint, EndpointConfigName: &target}); err != nil {
		return res, fmt.Errorf("update endpoint %s to %s: %w", n.endpoint, target, apiErr(err))
	}
	p.Printf("endpoint %s -> config %s (%s at %d %%)", n.endpoint, target, n.variant, t.Percent)
	_, err = d.settled(ctx, sm, n.endpoint, target, p)
	return res, err
}

// Rollback implements Driver: the endpoint goes back to the config that
// served before this deployment.
func (d *sagemakerDriver) Rollback(ctx context.Context, t Target, log Logger) (Result, error) {
	if err := d.check(ctx, t, false); err != nil {
		return Result{}, err
	}
	return d.run(ctx, t, log, false, "restore the endpoint's previous endpoint config by hand in SageMaker if this keeps failing",
		func(ctx context.Context, p *progress) (Result, error) { return d.rollback(ctx, t, p) })
}

func (d *sagemakerDriver) rollback(ctx context.Context, t Target, p *progress) (Result, error) {
	sm, err := d.client(ctx)
	if err != nil {
		return Result{}, err
	}
	n := d.names(t)
	res := Result{Serving: t.Previous, Previous: t.ModelRef().Version}
	ep, err := d.settled(ctx, sm, n.endpoint, "", p)
	if notFound(err) {
		p.Printf("endpoint %s does not exist; nothing to restore", n.endpoint)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	cur := aws.ToString(ep.EndpointConfigName)
	tags, err := d.tags(ctx, sm, cur)
	if err != nil {
		return res, err
	}
	if tags[tagDeployment] != strconv.FormatInt(t.DeploymentID, 10) {
		p.Printf("endpoint %s still serves %s, which this deployment did not set; nothing to restore", n.endpoint, cur)
		return res, nil
	}
	prev := tags[tagPrevious]
	if prev == "" {
		if _, err := sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: &n.endpoint}); err != nil {
			return res, fmt.Errorf("delete endpoint %s: %w", n.endpoint, apiErr(err))
		}
		p.Printf("endpoint %s deleted: this deployment created it and nothing served before", n.endpoint)
		return res, nil
	}
	if _, err := sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: &n.endpoint, EndpointConfigName: &prev}); err != nil {
		return res, fmt.Errorf("restore endpoint %s to %s: %w", n.endpoint, prev, apiErr(err))
	}
	p.Printf("endpoint %s -> config %s (rolled back from %s)", n.endpoint, prev, cur)
	_, err = d.settled(ctx, sm, n.endpoint, prev, p)
	return res, err
}

// ensureModel creates the candidate's SageMaker model from the registry's
// artifact location; one left by an earlier attempt is reused.
func (d *sagemakerDriver) ensureModel(ctx context.Context, sm *sagemaker.Client, t Target, n smNames, p *progress) error {
	m := t.ModelRef()
	source, err := artifactLocation(ctx, d.deps, d.cfg.Registry, m.Name, m.Version)
	if err != nil {
		return err
	}
	_, err = sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        &n.model,
		ExecutionRoleArn: &d.cfg.RoleARN,
		PrimaryContainer: &smtypes.ContainerDefinition{Image: &d.cfg.Image, ModelDataUrl: &source},
	})
	if err != nil && !strings.Contains(apiErr(err).Error(), "already existing model") {
		return fmt.Errorf("create model %s: %w", n.model, apiErr(err))
	}
	if err == nil {
		p.Printf("model %s created from %s", n.model, source)
	}
	return nil
}

func (d *sagemakerDriver) variant(n smNames, weight float32) smtypes.ProductionVariant {
	return smtypes.ProductionVariant{
		VariantName: aws.String(n.variant), ModelName: aws.String(n.model),
		InstanceType: smtypes.ProductionVariantInstanceType(d.cfg.InstanceType), InitialInstanceCount: aws.Int32(d.cfg.InstanceCount),
		InitialVariantWeight: aws.Float32(weight),
	}
}

// createConfig creates an endpoint config tagged with the deployment and
// the config that served before it; one left by an earlier attempt of the
// same deployment is reused.
func (d *sagemakerDriver) createConfig(ctx context.Context, sm *sagemaker.Client, name string, vs []smtypes.ProductionVariant, prev string, t Target) error {
	_, err := sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: &name, ProductionVariants: vs,
		Tags: []smtypes.Tag{
			{Key: aws.String(tagDeployment), Value: aws.String(strconv.FormatInt(t.DeploymentID, 10))},
			{Key: aws.String(tagPrevious), Value: aws.String(prev)},
		},
	})
	if err != nil && !strings.Contains(apiErr(err).Error(), "already existing endpoint configuration") {
		return fmt.Errorf("create endpoint config %s: %w", name, apiErr(err))
	}
	return nil
}

// currentVariant is the one production variant of config, as written.
func (d *sagemakerDriver) currentVariant(ctx context.Context, sm *sagemaker.Client, config string) (smtypes.ProductionVariant, error) {
	out, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: &config})
	if err != nil {
		return smtypes.ProductionVariant{}, fmt.Errorf("read endpoint config %s: %w", config, apiErr(err))
	}
	if len(out.ProductionVariants) != 1 {
		return smtypes.ProductionVariant{}, fmt.Errorf("endpoint config %s has %d variants; it must have one before a canary is added", config, len(out.ProductionVariants))
	}
	return out.ProductionVariants[0], nil
}

// tags returns the tags of an endpoint config.
func (d *sagemakerDriver) tags(ctx context.Context, sm *sagemaker.Client, config string) (map[string]string, error) {
	out, err := sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: &config})
	if err != nil {
		return nil, fmt.Errorf("read endpoint config %s: %w", config, apiErr(err))
	}
	lt, err := sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: out.EndpointConfigArn})
	if err != nil {
		return nil, fmt.Errorf("read the tags of endpoint config %s: %w", config, apiErr(err))
	}
	tags := map[string]string{}
	for _, tg := range lt.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags, nil
}

// settled polls the endpoint until it is InService, within the driver's
// timeout. With want set, an endpoint InService on another config means
// the update failed and SageMaker rolled it back: its FailureReason says
// why.
func (d *sagemakerDriver) settled(ctx context.Context, sm *sagemaker.Client, endpoint, want string, p *progress) (*sagemaker.DescribeEndpointOutput, error) {
	last := ""
	for {
		out, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: &endpoint})
		if err != nil && ctx.Err() != nil && last != "" {
			return nil, fmt.Errorf("endpoint %s still %s: %w", endpoint, last, ctx.Err())
		}
		if err != nil {
			return nil, fmt.Errorf("describe endpoint %s: %w", endpoint, apiErr(err))
		}
		status := string(out.EndpointStatus)
		switch status {
		case "InService":
			if want != "" && aws.ToString(out.EndpointConfigName) != want {
				return out, fmt.Errorf("endpoint %s stayed on %s instead of %s: %s", endpoint, aws.ToString(out.EndpointConfigName), want, orUnknown(aws.ToString(out.FailureReason)))
			}
			return out, nil
		case "Failed", "OutOfService":
			return out, fmt.Errorf("endpoint %s is %s: %s", endpoint, status, orUnknown(aws.ToString(out.FailureReason)))
		}
		if status != last {
			p.Printf("endpoint %s is %s; waiting for InService", endpoint, status)
			last = status
		}
		if err := sleepCtx(ctx, d.poll); err != nil {
			return out, fmt.Errorf("endpoint %s still %s: %w", endpoint, status, err)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "no FailureReason given"
	}
	return s
}

// notFound reports whether err is SageMaker's "Could not find endpoint".
func notFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Could not find endpoint")
}

// apiErr shortens an SDK error to SageMaker's code and message.
func apiErr(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return unwrapURLError(err)
}

// versionSource is the part of a registry client that knows a version's
// artifact location (*mlflow.Client has it).
type versionSource interface {
	GetModelVersion(ctx context.Context, name, version string) (*mlflow.ModelVersion, error)
}
