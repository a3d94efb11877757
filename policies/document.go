package policies

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Digest is the sha256 (hex) of the input's canonical JSON: encoding/json's
// form of Input, whose struct fields come in a fixed order and whose map
// keys encoding/json sorts. A value JSON cannot hold (NaN, ±Inf) is an
// error. The derived parts of the policy document (requested,
// environment.freeze_windows) are functions of the input and not hashed.
func Digest(in Input) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("encode policy input: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// document is the policy's input as OPA receives it: the Input with every
// list and map present (nil becomes [] or {}, so rules can iterate without
// guarding against null) and what Conveyor derives from it.
type document struct {
	Input
	// Environment shadows Input's: encoding/json takes the shallower field.
	Environment documentEnvironment `json:"environment"`
	// Requested is, per owning team, what the candidates ask for in the
	// environment (TeamUsage over the artifacts), so the quota rule compares
	// instead of summing in Rego.
	Requested map[string]Usage `json:"requested"`
}

type documentEnvironment struct {
	Name          string            `json:"name"`
	Config        EnvironmentConfig `json:"config"`
	FreezeWindows []FreezeReading   `json:"freeze_windows"`
}

// newDocument builds the document for in without changing in.
func newDocument(in Input) document {
	in.Actor.Teams = orEmpty(in.Actor.Teams)
	c := in.Environment.Config
	c.Requires, c.Approvals.From, c.Rollout.Steps, c.Freeze = orEmpty(c.Requires), orEmpty(c.Approvals.From), orEmpty(c.Rollout.Steps), orEmpty(c.Freeze)
	arts := make([]Artifact, len(in.Artifacts))
	for i, a := range in.Artifacts {
		a.Owners = orEmpty(a.Owners)
		a.Evidence.CI = orEmptyMap(a.Evidence.CI)
		if d := a.Evidence.DBT; d != nil {
			a.Evidence.DBT = &DBTEvidence{Modified: orEmpty(d.Modified), Downstream: orEmpty(d.Downstream),
				Untested: orEmpty(d.Untested), ContractBreaks: orEmpty(d.ContractBreaks)}
		}
		arts[i] = a
	}
	in.Artifacts = arts
	in.Deployments = orEmptyMap(in.Deployments)
	in.Approvals = orEmpty(in.Approvals)
	usage := make(map[string]map[string]Usage, len(in.Usage))
	for team, envs := range in.Usage {
		usage[team] = orEmptyMap(envs)
	}
	in.Usage = usage
	requested := map[string]Usage{}
	for _, t := range teamSums(in.Artifacts) {
		requested[t.team] = t.usage
	}
	return document{
		Input:       in,
		Environment: documentEnvironment{Name: in.Environment.Name, Config: c, FreezeWindows: freezeReadings(c.Freeze)},
		Requested:   requested,
	}
}

// Document is the JSON document the policy evaluates for in: the input,
// every list present, plus what Conveyor derives (requested,
// environment.freeze_windows). It is what `opa eval -i` needs to decide
// as Conveyor does (docs/policies.md).
func Document(in Input) ([]byte, error) {
	b, err := json.Marshal(newDocument(in))
	if err != nil {
		return nil, fmt.Errorf("encode policy input: %w", err)
	}
	return b, nil
}

// inputValue is the document as the policy's input, read from its JSON the
// way OPA reads an input document (numbers as written by encoding/json).
func inputValue(in Input) (ast.Value, error) {
	b, err := Document(in)
	if err != nil {
		return nil, err
	}
	return ast.ValueFromReader(bytes.NewReader(b))
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orEmptyMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}
