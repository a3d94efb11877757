package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Input is the document every decision is made over (docs/policies.md, "The contract").
// Its JSON form is the policy's input.
type Input struct {
	Action      string                      `json:"action"` // check, deploy, approve, rollback, lock
	Actor       Actor                       `json:"actor"`
	Repository  string                      `json:"repository"`
	PullRequest *PullRequest                `json:"pull_request,omitempty"`
	Environment Environment                 `json:"environment"`
	Artifacts   []Artifact                  `json:"artifacts"`
	Deployments map[string]DeploymentFact   `json:"deployments"` // environment -> latest deployment of the same artifacts
	Approvals   []Approval                  `json:"approvals"`
	Requester   string                      `json:"requester,omitempty"` // who asked for the deployment
	Usage       map[string]map[string]Usage `json:"usage"`               // team -> environment -> what runs there now, not counting this PR
	Now         string                      `json:"now"`                 // RFC3339
}

// Actor is the GitHub user acting, with their repository permission and
// team memberships ("org/slug").
type Actor struct {
	Login      string   `json:"login"`
	Permission string   `json:"permission"` // admin, maintain, write, triage, read
	Teams      []string `json:"teams"`
}

// PullRequest is the PR a deployment comes from.
type PullRequest struct {
	Number   int    `json:"number"`
	Author   string `json:"author"`
	HeadSHA  string `json:"head_sha"`
	Base     string `json:"base"`
	FromFork bool   `json:"from_fork"`
}

// GetNumber is the PR's number, 0 for a nil PullRequest (a decision about no PR).
func (p *PullRequest) GetNumber() int {
	if p == nil {
		return 0
	}
	return p.Number
}

// artifactNames lists the names of the artifacts an input decides on.
func artifactNames(in Input) []string {
	out := make([]string, len(in.Artifacts))
	for i, a := range in.Artifacts {
		out[i] = a.Name
	}
	return out
}

// Environment is the target environment and its block from the repository
// config's default branch.
type Environment struct {
	Name   string            `json:"name"`
	Config EnvironmentConfig `json:"config"`
}

// EnvironmentConfig is one entry of environments: in .github/conveyor.yml.
type EnvironmentConfig struct {
	Requires  []string       `json:"requires"`
	Approvals ApprovalConfig `json:"approvals"`
	Rollout   Rollout        `json:"rollout"`
	Freeze    []string       `json:"freeze"`
}

// ApprovalConfig says how many approvals an environment needs and from which
// teams ("@acme/sre").
type ApprovalConfig struct {
	Count int      `json:"count"`
	From  []string `json:"from"`
}

// Rollout is the step plan of a deployment (percentages) and the pause
// between steps ("2m").
type Rollout struct {
	Steps []int  `json:"steps"`
	Pause string `json:"pause"`
}

// Artifact is one thing being checked or deployed.
type Artifact struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"` // app, model, dbt
	Owners    []string  `json:"owners"`
	Resources Resources `json:"resources"`
	Cost      Cost      `json:"cost"`
	Evidence  Evidence  `json:"evidence"`
}

// Resources is an artifact's request per replica, and its replica count.
type Resources struct {
	CPU       float64 `json:"cpu"`
	MemoryGiB float64 `json:"memory_gib"`
	GPU       float64 `json:"gpu"`
	Replicas  int     `json:"replicas"`
}

// Cost is an artifact's monthly cost and its change against what runs now.
type Cost struct {
	MonthlyUSD float64 `json:"monthly_usd"`
	DeltaUSD   float64 `json:"delta_usd"`
}

// Evidence is what the check suite found out about an artifact: CI results
// for every kind, and what the artifact's kind recorded under its own key
// (evidence.metrics for models, evidence.dbt for dbt projects, and
// evidence.<key> in Kinds for any other kind).
type Evidence struct {
	CI      map[string]string `json:"ci"` // check run name -> conclusion
	Metrics *MetricsEvidence  `json:"metrics,omitempty"`
	DBT     *DBTEvidence      `json:"dbt,omitempty"`
	// Kinds is what other kinds record, by key, beside ci, metrics and dbt
	// in the same object; values must encode as JSON.
	Kinds map[string]any `json:"-"`
}

// evidenceFields is Evidence without its methods, for encoding/json.
type evidenceFields Evidence

// reservedEvidence are the keys Evidence's own fields use.
var reservedEvidence = []string{"ci", "metrics", "dbt"}

// MarshalJSON writes the fields, then each kind's evidence under its key;
// without Kinds the bytes are encoding/json's of the fields alone.
func (e Evidence) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(evidenceFields(e))
	if err != nil || len(e.Kinds) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range e.Kinds {
		if slices.Contains(reservedEvidence, k) {
			return nil, fmt.Errorf("evidence: a kind may not record under %q (reserved for Evidence.%s)", k, strings.ToUpper(k[:1])+k[1:])
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("evidence.%s: %w", k, err)
		}
		m[k] = raw
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the fields (strictly: an unknown key inside ci,
// metrics or dbt is an error) and keeps every other key in Kinds.
func (e *Evidence) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	own := map[string]json.RawMessage{}
	for _, k := range reservedEvidence {
		if raw, ok := m[k]; ok {
			own[k] = raw
		}
	}
	b, err := json.Marshal(own)
	if err != nil {
		return err
	}
	var f evidenceFields
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return err
	}
	for k, raw := range m {
		if slices.Contains(reservedEvidence, k) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("evidence.%s: %w", k, err)
		}
		if f.Kinds == nil {
			f.Kinds = map[string]any{}
		}
		f.Kinds[k] = v
	}
	*e = Evidence(f)
	return nil
}

// MetricsEvidence compares a model version's evaluation metric with the
// version serving in production.
type MetricsEvidence struct {
	Metric string `json:"metric"`
	// Direction is "higher" or "lower": which way the metric improves. Min
	// is the bound of a higher-is-better metric, Max of a lower-is-better
	// one; Regression is how much worse than production the candidate is
	// in that direction (negative: better).
	Direction     string  `json:"direction,omitempty"`
	Candidate     float64 `json:"candidate"`
	Production    float64 `json:"production"`
	Min           float64 `json:"min"`
	Max           float64 `json:"max,omitempty"`
	MaxRegression float64 `json:"max_regression"`
	Regression    float64 `json:"regression"`
	Passed        bool    `json:"passed"`
	// Drift is the drift gate's finding, nil when the model configures
	// none; it has its own verdict, independent of Passed.
	Drift *DriftEvidence `json:"drift,omitempty"`
	// Gates lists every metric gate when the model has several (the
	// fields above are then the first failed gate's, else the first's).
	Gates []MetricsEvidence `json:"gates,omitempty"`
}

// DriftEvidence is a model's drift gate: the drift value recorded on the
// version serving in production against its maximum, and whether the
// candidate addresses it by recording its own value within the maximum.
type DriftEvidence struct {
	Metric     string  `json:"metric"`
	Source     string  `json:"source"` // "metric" (a run metric) or "tag" (a model version tag)
	Max        float64 `json:"max"`
	Measured   bool    `json:"measured"`   // production recorded a value
	Production float64 `json:"production"` // its value (0 when not measured or not a number)
	Above      bool    `json:"above"`      // above max, or not a number
	Addressed  bool    `json:"addressed"`  // the candidate records its own value within max
	Candidate  float64 `json:"candidate"`  // the candidate's own value, when recorded
	Block      bool    `json:"block"`      // drift.block is on
	// Passed is false when the drift blocks this candidate: above max,
	// block on, and not addressed.
	Passed bool `json:"passed"`
}

// DBTEvidence is the impact of a dbt change.
type DBTEvidence struct {
	Modified       []string `json:"modified"`
	Downstream     []string `json:"downstream"`
	Untested       []string `json:"untested"`
	ContractBreaks []string `json:"contract_breaks"`
}

// DeploymentFact is the latest deployment of the same artifacts to an
// environment.
type DeploymentFact struct {
	SHA   string `json:"sha"`
	State string `json:"state"`
}

// Approval is one approval given for the deployment.
type Approval struct {
	Login string `json:"login"`
	Via   string `json:"via"` // slack, github
	SHA   string `json:"sha"`
}

// Usage is what a team runs in an environment now.
type Usage struct {
	CPU       float64 `json:"cpu"`
	MemoryGiB float64 `json:"memory_gib"`
	GPU       float64 `json:"gpu"`
}

// Actions lists the actions a decision can be asked for.
var Actions = []string{"check", "deploy", "approve", "rollback", "lock"}

// Permissions lists the repository permissions an actor may have; an empty
// permission is none.
var Permissions = []string{"admin", "maintain", "write", "triage", "read"}

// contractDocs is where users read what an input document holds.
const contractDocs = `docs/policies.md, section "The contract"`

// CheckAction says whether a is one of Actions, and if not, which are.
func CheckAction(a string) error {
	if slices.Contains(Actions, a) {
		return nil
	}
	if a == "" {
		return fmt.Errorf("no action; write one of %s (%s)", strings.Join(Actions, ", "), contractDocs)
	}
	return fmt.Errorf("action %q is not one of %s (%s)", a, strings.Join(Actions, ", "), contractDocs)
}

// ParseInput reads an input document (as `conveyor policy eval --input`
// takes it) and checks it against the contract: unknown fields, values of
// the wrong JSON type, an unknown action or permission and a now that is not
// RFC 3339 are errors. A missing action is left to the caller, which may
// supply one (policy eval's --action) and must then check it with
// CheckAction.
func ParseInput(r io.Reader) (Input, error) {
	var in Input
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return Input{}, fmt.Errorf("policy input: invalid JSON at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ):
			return Input{}, fmt.Errorf("policy input: %s must be %s, not a JSON %s (%s)", typ.Field, jsonKind(typ.Type), typ.Value, contractDocs)
		case errors.Is(err, io.EOF):
			return Input{}, errors.New("policy input: empty document (write a JSON object such as {\"action\": \"check\", ...})")
		default:
			return Input{}, fmt.Errorf("policy input: %v (the fields are listed in %s)", err, contractDocs)
		}
	}
	if dec.More() {
		return Input{}, errors.New("policy input: more than one JSON document (write exactly one object)")
	}
	if in.Action != "" {
		if err := CheckAction(in.Action); err != nil {
			return Input{}, fmt.Errorf("policy input: %w", err)
		}
	}
	if p := in.Actor.Permission; p != "" && !slices.Contains(Permissions, p) {
		return Input{}, fmt.Errorf("policy input: actor.permission %q is not one of %s, or empty for none (%s)", p, strings.Join(Permissions, ", "), contractDocs)
	}
	if in.Now != "" {
		if _, err := time.Parse(time.RFC3339, in.Now); err != nil {
			return Input{}, fmt.Errorf("policy input: now %q is not an RFC 3339 time such as 2025-06-11T10:00:00Z (%s)", in.Now, contractDocs)
		}
	}
	return in, nil
}

// jsonKind names what a Go type reads from JSON, for error messages.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}
