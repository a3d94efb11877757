package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/conveyor-dev/conveyor/examples"
	"github.com/conveyor-dev/conveyor/internal/datadogfake"
	"github.com/conveyor-dev/conveyor/internal/ghfake"
	"github.com/conveyor-dev/conveyor/internal/sagemakerfake"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
	"github.com/conveyor-dev/conveyor/internal/vertexfake"
)

// servingWorld is what the demo emulates of model serving and monitoring:
// SageMaker (internal/sagemakerfake, its JSON 1.1 protocol with SigV4
// signatures checked), Vertex AI (internal/vertexfake, its REST resources
// and long-running operations, OAuth tokens from a service account key) and
// Datadog's metrics query API (internal/datadogfake). The drivers and the
// metric gate talk to them exactly as to the real services; only the
// numbers Datadog answers are set by the demo.
type servingWorld struct {
	sm      *sagemakerfake.Server
	vx      *vertexfake.Server
	dd      *datadogfake.Server
	env     map[string]string // the key variables the server config names, holding the emulators' keys
	ddQuery string            // the error-ratio gate's Datadog query, placeholders unfilled
	vxBase  string            // projects/P/locations/L of the vertex driver
}

// The emulators' credentials; the server config names the variables
// holding them, as it would name real ones.
const (
	demoAWSKeyID    = "AKIADEMO000000000001"
	demoAWSSecret   = "demo-aws-secret-access-key"
	demoDDAPIKey    = "demo-datadog-api-key"
	demoDDAppKey    = "demo-datadog-app-key"
	demoVertexToken = "ya29.demo-vertex-token"
	// churnServing is what serves the churn model before the demo: version
	// 7, on endpoints set up by hand.
	churnServing = "7"
)

// startServing starts the emulators, points the server config's sagemaker
// and vertex drivers and its Datadog gates at them, and sets up the churn
// model's endpoints as a team would have had them before Conveyor.
func (d *demo) startServing(scfg *serverconfig.Config) error {
	w := &servingWorld{
		sm:  sagemakerfake.New(demoAWSKeyID, demoAWSSecret),
		vx:  vertexfake.New(demoVertexToken),
		dd:  datadogfake.New(demoDDAPIKey, demoDDAppKey),
		env: map[string]string{},
	}
	d.serving = w
	for name, drv := range scfg.Drivers {
		switch drv.Type {
		case "sagemaker":
			drv.EndpointURL = w.sm.URL()
			w.env[drv.AccessKeyEnv], w.env[drv.SecretKeyEnv] = demoAWSKeyID, demoAWSSecret
			for _, env := range []string{"staging", "production"} {
				ep := strings.NewReplacer("{artifact}", "churn-model", "{environment}", env).Replace(drv.Endpoint)
				w.sm.AddEndpoint(ep, ep+"-v"+churnServing+"-manual", "v"+churnServing, "churn-model-v"+churnServing, drv.Image, churnSource(churnServing))
			}
		case "vertex":
			drv.EndpointURL = w.vx.URL()
			key, err := writeServiceAccountKey(d.dir, w.vx.TokenURL(), drv.Project)
			if err != nil {
				return err
			}
			drv.CredentialsFile = key
			w.vxBase = fmt.Sprintf("projects/%s/locations/%s", drv.Project, drv.Region)
			for _, env := range []string{"staging", "production"} {
				ep := w.vxBase + "/endpoints/" + strings.NewReplacer("{artifact}", "churn-model", "{environment}", env).Replace(drv.Endpoint)
				w.vx.AddEndpoint(ep)
				w.vx.AddDeployedModel(ep, "churn-model-v"+churnServing, churnSource(churnServing))
			}
		}
		scfg.Drivers[name] = drv
	}
	for name, h := range scfg.Health {
		if h.Datadog != nil {
			dd := *h.Datadog
			dd.URL = w.dd.URL()
			w.env[dd.APIKeyEnv], w.env[dd.AppKeyEnv] = demoDDAPIKey, demoDDAppKey
			h.Datadog = &dd
			for _, m := range h.Metrics {
				if m.Datadog != "" {
					w.ddQuery = m.Datadog
				}
			}
		}
		scfg.Health[name] = h
	}
	// Version 9's error ratio is healthy; 10's is not (see rollBackOnAMetric).
	w.setErrorRatio("9", 0.0012, 0.0009, 0.0011)
	return nil
}

func (w *servingWorld) close() {
	if w != nil {
		w.sm.Close()
		w.vx.Close()
		w.dd.Close()
	}
}

// getenv is os.Getenv with the emulators' keys under the names the server
// config gives them.
func (w *servingWorld) getenv(k string) string {
	if v, ok := w.env[k]; ok {
		return v
	}
	return os.Getenv(k)
}

func churnSource(version string) string {
	return "s3://acme-models/churn-predictor/" + version + "/model.tar.gz"
}

// errorRatioQuery is the gate's query as the gate sends it for the churn
// model's version in production.
func (w *servingWorld) errorRatioQuery(version string) string {
	return strings.NewReplacer("{artifact}", "churn-model", "{environment}", "production", "{version}", version).Replace(w.ddQuery)
}

// setErrorRatio makes the emulated Datadog answer the error-ratio query of
// the churn model's version in production with these points, newest last.
func (w *servingWorld) setErrorRatio(version string, points ...float64) {
	w.dd.Set(w.errorRatioQuery(version), points...)
}

// traffic describes the traffic on the churn model's endpoint in env as
// each change to it settled, e.g. "v7 100% -> v7 90% + v9 10%".
func (w *servingWorld) traffic(driverType, env string) []string {
	var out []string
	switch driverType {
	case "sagemaker":
		for _, weights := range w.sm.History("churn-model-" + env) {
			var sum float64
			for _, v := range weights {
				sum += v
			}
			split := map[string]int{}
			for name, v := range weights {
				split[name] = int(v/sum*100 + 0.5)
			}
			out = append(out, splitText(split, ""))
		}
	case "vertex":
		for _, split := range w.vx.TrafficHistory(w.vxBase + "/endpoints/churn-model-" + env) {
			out = append(out, splitText(split, "churn-model-"))
		}
	}
	return out
}

// splitText writes a traffic split by version, oldest first.
func splitText(split map[string]int, prefix string) string {
	names := make([]string, 0, len(split))
	for n := range split {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return len(names[i]) < len(names[j]) || len(names[i]) == len(names[j]) && names[i] < names[j]
	})
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d%%", strings.TrimPrefix(n, prefix), split[n]))
	}
	return strings.Join(parts, " + ")
}

// churnPR opens a pull request moving the churn model's pointer to version
// and waits for its checks.
func (d *demo) churnPR(ctx context.Context, version string) (*ghfake.PR, error) {
	ch := &examples.Change{Name: "churn-v" + version, Files: map[string]string{
		"models/churn.yaml": "registry: main\nmodel: churn-predictor\nversion: \"" + version + "\"\n",
	}}
	pr, err := d.openPR(ctx, "feature/churn-v"+version, "Churn predictor v"+version, "dev", ch)
	if err != nil {
		return nil, err
	}
	return pr, d.ciAndChecks(ctx, pr)
}

// endpointOutcome is how one production rollout of the churn model ended.
type endpointOutcome struct {
	state   string   // the deployment's final state
	comment string   // its status comment on the PR
	thread  []string // the Slack thread under the approval request, as Slack shows it
	traffic []string // the production endpoint's traffic, change by change
}

// churnToProduction deploys pr to staging, then to production with the two
// Slack approvals, and waits for the rollout to end (its Slack thread to
// say final).
func (d *demo) churnToProduction(ctx context.Context, pr *ghfake.PR, driverType, final string) (*endpointOutcome, error) {
	before := len(d.serving.traffic(driverType, "production"))
	if _, err := d.comment(pr, "dev", "/deploy staging"); err != nil {
		return nil, err
	}
	if state, text, err := d.waitDeployment(ctx, pr, "staging", finalStates); err != nil {
		return nil, err
	} else if state != "succeeded" {
		return nil, fmt.Errorf("the staging deployment of PR #%d ended %s:\n%s", pr.Number, state, text)
	}
	d.say("   /deploy staging: succeeded; the staging endpoint now serves %s\n", last(d.serving.traffic(driverType, "staging")))
	msg, err := d.approveInSlack(ctx, pr, false)
	if err != nil {
		return nil, err
	}
	state, text, err := d.waitDeployment(ctx, pr, "production", finalStates)
	if err != nil {
		return nil, err
	}
	out := &endpointOutcome{state: state, comment: text}
	wait(ctx, "the last word in the Slack thread", func() bool {
		th := d.slack.Thread(prodChannel, msg.TS)
		return len(th) > 0 && strings.Contains(strings.ToLower(th[len(th)-1].Text), final)
	})
	for _, m := range d.slack.Thread(prodChannel, msg.TS) {
		out.thread = append(out.thread, slackUnescape(m.Text))
	}
	// From what served before the rollout to what serves after it.
	out.traffic = d.serving.traffic(driverType, "production")[max(before-1, 0):]
	return out, nil
}

// endpointRollout is the demo's model-serving part: the churn model goes to
// its endpoint through the rollout steps, a Datadog metric gate watching
// each step.
func (d *demo) endpointRollout(ctx context.Context, driverType string) (*endpointOutcome, error) {
	service := serviceNames[driverType]
	d.say("   (emulated: %s, and the Datadog metrics API whose numbers the demo sets; Conveyor's driver and gate are the real ones)\n", service)
	d.say("   Before: %s endpoint churn-model-production serves %s, set up by hand; churn-model deploys with driver %q\n", service, last(d.serving.traffic(driverType, "production")), driverType)
	d.say("   Between steps in production the gate asks Datadog (every 200ms for 600ms) that\n     %s < 0.01\n   Datadog reports version 9's error ratio in production at 0.11%%.\n", d.serving.ddQuery)
	pr, err := d.churnPR(ctx, "9")
	if err != nil {
		return nil, err
	}
	out, err := d.churnToProduction(ctx, pr, driverType, "succeeded")
	if err != nil {
		return nil, err
	}
	d.printOutcome(driverType, out, false)
	d.say("   the gate asked Datadog %d times; each answer was under the threshold\n", d.ddQueries("9"))
	return out, nil
}

// endpointRollback is the same for a version whose error ratio is bad: the
// gate stops the rollout at its first step and rolls it back.
func (d *demo) endpointRollback(ctx context.Context, driverType string) (*endpointOutcome, error) {
	d.serving.setErrorRatio("10", 0.0014, 0.012, 0.034)
	d.say("   Datadog (emulated) reports version 10's error ratio in production at 3.4%%\n")
	pr, err := d.churnPR(ctx, "10")
	if err != nil {
		return nil, err
	}
	out, err := d.churnToProduction(ctx, pr, driverType, "rolled back")
	if err != nil {
		return nil, err
	}
	d.printOutcome(driverType, out, true)
	d.say("   status comment on the PR:\n%s\n", indent(clip(out.comment, 30), "     | "))
	return out, nil
}

var serviceNames = map[string]string{"sagemaker": "SageMaker", "vertex": "Vertex AI"}

// printOutcome prints the endpoint's traffic and the Slack thread, each
// thread message whole or its first line only.
func (d *demo) printOutcome(driverType string, out *endpointOutcome, whole bool) {
	d.say("   production deployment %s; %s endpoint churn-model-production, change by change:\n     %s\n", strings.ReplaceAll(out.state, "_", " "), serviceNames[driverType], strings.Join(out.traffic, " -> "))
	d.say("   the Slack thread:\n")
	for _, l := range out.thread {
		if !whole {
			l = firstLine(l)
		}
		d.say("%s\n", indent(l, "     > "))
	}
}

// ddQueries counts the Datadog queries the gate made about version's error ratio.
func (d *demo) ddQueries(version string) int {
	n, q := 0, d.serving.errorRatioQuery(version)
	for _, c := range d.serving.dd.Calls() {
		if c.Query == q && c.Status == 200 {
			n++
		}
	}
	return n
}

func last(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return s[len(s)-1]
}

// slackUnescape shows Slack text as Slack renders it (&lt; is <).
func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// writeServiceAccountKey writes a Google service account key file whose
// token_uri is the Vertex emulator's, so the driver's key-file path runs as
// it would against Google: a JWT signed with the key, traded for a token.
func writeServiceAccountKey(dir, tokenURL, project string) (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	key, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "demo",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "conveyor@" + project + ".iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURL,
	})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "vertex-key.json")
	return path, os.WriteFile(path, key, 0o600)
}
