package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Digest is the sha256 (hex) of the input's canonical JSON: the encoding/json
// form of Input, whose field order is fixed and whose map keys are sorted.
//
// Every decision computes it, so the bytes are written by hand into a pooled
// buffer instead of through reflection; TestDigestEncodingMatchesJSON keeps
// them identical to json.Marshal, and any value json.Marshal rejects (NaN,
// ±Inf) is reported with json.Marshal's own error.
func Digest(in Input) (string, error) {
	e := encoders.Get().(*inputEncoder)
	defer encoders.Put(e)
	e.buf, e.bad = e.buf[:0], false
	e.input(&in)
	if e.bad {
		if _, err := json.Marshal(in); err != nil {
			return "", fmt.Errorf("encode policy input: %w", err)
		}
		return "", fmt.Errorf("encode policy input: a number is not finite")
	}
	sum := sha256.Sum256(e.buf)
	return hex.EncodeToString(sum[:]), nil
}

var encoders = sync.Pool{New: func() any { return &inputEncoder{buf: make([]byte, 0, 2048)} }}

// inputEncoder appends Input as encoding/json would. bad records a value
// JSON cannot hold.
type inputEncoder struct {
	buf      []byte
	keys     []string // reused by encoderKeys
	teamKeys []string // usage's outer keys, while keys holds the inner ones
	bad      bool
}

func (e *inputEncoder) raw(s string) { e.buf = append(e.buf, s...) }

// str appends a JSON string. Plain printable ASCII, by far the common case,
// is copied; anything else goes through encoding/json so escaping (HTML
// characters, control characters, invalid UTF-8, U+2028/9) matches exactly.
func (e *inputEncoder) str(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			e.buf = append(e.buf, b...)
			return
		}
	}
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"')
}

// num appends a float64 the way encoding/json does.
func (e *inputEncoder) num(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.bad = true
		e.buf = append(e.buf, '0')
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(e.buf)
		if n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
}

func (e *inputEncoder) int(i int) { e.buf = strconv.AppendInt(e.buf, int64(i), 10) }

func (e *inputEncoder) bool(b bool) { e.buf = strconv.AppendBool(e.buf, b) }

// strings appends a []string; nil is null, as in encoding/json.
func (e *inputEncoder) strings(xs []string) {
	if xs == nil {
		e.raw("null")
		return
	}
	e.buf = append(e.buf, '[')
	for i, x := range xs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(x)
	}
	e.buf = append(e.buf, ']')
}

// encoderKeys returns m's keys sorted, in *dst, which is reused across calls.
func encoderKeys[V any](dst *[]string, m map[string]V) []string {
	keys := (*dst)[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	*dst = keys
	return keys
}

func (e *inputEncoder) input(in *Input) {
	e.raw(`{"action":`)
	e.str(in.Action)
	e.raw(`,"actor":{"login":`)
	e.str(in.Actor.Login)
	e.raw(`,"permission":`)
	e.str(in.Actor.Permission)
	e.raw(`,"teams":`)
	e.strings(in.Actor.Teams)
	e.raw(`},"repository":`)
	e.str(in.Repository)
	if p := in.PullRequest; p != nil {
		e.raw(`,"pull_request":{"number":`)
		e.int(p.Number)
		e.raw(`,"author":`)
		e.str(p.Author)
		e.raw(`,"head_sha":`)
		e.str(p.HeadSHA)
		e.raw(`,"base":`)
		e.str(p.Base)
		e.raw(`,"from_fork":`)
		e.bool(p.FromFork)
		e.raw(`}`)
	}
	e.environment(&in.Environment)
	e.raw(`,"artifacts":`)
	if in.Artifacts == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i := range in.Artifacts {
			if i > 0 {
				e.raw(",")
			}
			e.artifact(&in.Artifacts[i])
		}
		e.raw("]")
	}
	e.raw(`,"deployments":`)
	e.deployments(in.Deployments)
	e.raw(`,"approvals":`)
	if in.Approvals == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i, a := range in.Approvals {
			if i > 0 {
				e.raw(",")
			}
			e.raw(`{"login":`)
			e.str(a.Login)
			e.raw(`,"via":`)
			e.str(a.Via)
			e.raw(`,"sha":`)
			e.str(a.SHA)
			e.raw("}")
		}
		e.raw("]")
	}
	if in.Requester != "" {
		e.raw(`,"requester":`)
		e.str(in.Requester)
	}
	e.raw(`,"usage":`)
	e.usage(in.Usage)
	e.raw(`,"now":`)
	e.str(in.Now)
	e.raw("}")
}

func (e *inputEncoder) environment(env *Environment) {
	c := &env.Config
	e.raw(`,"environment":{"name":`)
	e.str(env.Name)
	e.raw(`,"config":{"requires":`)
	e.strings(c.Requires)
	e.raw(`,"approvals":{"count":`)
	e.int(c.Approvals.Count)
	e.raw(`,"from":`)
	e.strings(c.Approvals.From)
	e.raw(`},"rollout":{"steps":`)
	if c.Rollout.Steps == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i, s := range c.Rollout.Steps {
			if i > 0 {
				e.raw(",")
			}
			e.int(s)
		}
		e.raw("]")
	}
	e.raw(`,"pause":`)
	e.str(c.Rollout.Pause)
	e.raw(`},"freeze":`)
	e.strings(c.Freeze)
	e.raw("}}")
}

func (e *inputEncoder) artifact(a *Artifact) {
	e.raw(`{"name":`)
	e.str(a.Name)
	e.raw(`,"kind":`)
	e.str(a.Kind)
	e.raw(`,"owners":`)
	e.strings(a.Owners)
	e.raw(`,"resources":{"cpu":`)
	e.num(a.Resources.CPU)
	e.raw(`,"memory_gib":`)
	e.num(a.Resources.MemoryGiB)
	e.raw(`,"gpu":`)
	e.num(a.Resources.GPU)
	e.raw(`,"replicas":`)
	e.int(a.Resources.Replicas)
	e.raw(`},"cost":{"monthly_usd":`)
	e.num(a.Cost.MonthlyUSD)
	e.raw(`,"delta_usd":`)
	e.num(a.Cost.DeltaUSD)
	e.raw(`},"evidence":{"ci":`)
	if a.Evidence.CI == nil {
		e.raw("null")
	} else {
		e.raw("{")
		for i, k := range encoderKeys(&e.keys, a.Evidence.CI) {
			if i > 0 {
				e.raw(",")
			}
			e.str(k)
			e.raw(":")
			e.str(a.Evidence.CI[k])
		}
		e.raw("}")
	}
	if m := a.Evidence.Metrics; m != nil {
		e.raw(`,"metrics":{"metric":`)
		e.str(m.Metric)
		e.raw(`,"candidate":`)
		e.num(m.Candidate)
		e.raw(`,"production":`)
		e.num(m.Production)
		e.raw(`,"min":`)
		e.num(m.Min)
		e.raw(`,"max_regression":`)
		e.num(m.MaxRegression)
		e.raw(`,"regression":`)
		e.num(m.Regression)
		e.raw(`,"passed":`)
		e.bool(m.Passed)
		e.raw("}")
	}
	if d := a.Evidence.DBT; d != nil {
		e.raw(`,"dbt":{"modified":`)
		e.strings(d.Modified)
		e.raw(`,"downstream":`)
		e.strings(d.Downstream)
		e.raw(`,"untested":`)
		e.strings(d.Untested)
		e.raw(`,"contract_breaks":`)
		e.strings(d.ContractBreaks)
		e.raw("}")
	}
	e.raw("}}")
}

func (e *inputEncoder) deployments(m map[string]DeploymentFact) {
	if m == nil {
		e.raw("null")
		return
	}
	e.raw("{")
	for i, k := range encoderKeys(&e.keys, m) {
		if i > 0 {
			e.raw(",")
		}
		e.str(k)
		e.raw(`:{"sha":`)
		e.str(m[k].SHA)
		e.raw(`,"state":`)
		e.str(m[k].State)
		e.raw("}")
	}
	e.raw("}")
}

func (e *inputEncoder) usage(m map[string]map[string]Usage) {
	if m == nil {
		e.raw("null")
		return
	}
	e.raw("{")
	for i, team := range encoderKeys(&e.teamKeys, m) {
		if i > 0 {
			e.raw(",")
		}
		e.str(team)
		envs := m[team]
		if envs == nil {
			e.raw(":null")
			continue
		}
		e.raw(":{")
		for j, env := range encoderKeys(&e.keys, envs) {
			if j > 0 {
				e.raw(",")
			}
			u := envs[env]
			e.str(env)
			e.raw(`:{"cpu":`)
			e.num(u.CPU)
			e.raw(`,"memory_gib":`)
			e.num(u.MemoryGiB)
			e.raw(`,"gpu":`)
			e.num(u.GPU)
			e.raw("}")
		}
		e.raw("}")
	}
	e.raw("}")
}
