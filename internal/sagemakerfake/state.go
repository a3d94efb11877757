package sagemakerfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"time"
)

// Shapes as the SageMaker API reference names their members.
type (
	tag struct {
		Key   string `json:"Key"`
		Value string `json:"Value"`
	}
	container struct {
		Image        string            `json:"Image,omitempty"`
		ModelDataUrl string            `json:"ModelDataUrl,omitempty"`
		Environment  map[string]string `json:"Environment,omitempty"`
	}
	// Variant is a production variant of an endpoint config.
	Variant struct {
		VariantName          string   `json:"VariantName"`
		ModelName            string   `json:"ModelName,omitempty"`
		InitialInstanceCount int      `json:"InitialInstanceCount,omitempty"`
		InstanceType         string   `json:"InstanceType,omitempty"`
		InitialVariantWeight *float64 `json:"InitialVariantWeight,omitempty"`
	}
	variantSummary struct {
		VariantName          string  `json:"VariantName"`
		CurrentWeight        float64 `json:"CurrentWeight"`
		DesiredWeight        float64 `json:"DesiredWeight"`
		CurrentInstanceCount int     `json:"CurrentInstanceCount"`
		DesiredInstanceCount int     `json:"DesiredInstanceCount"`
	}
)

type model struct {
	name, arn string
	container container
}

type endpointConfig struct {
	name, arn string
	variants  []Variant
	tags      []tag
	created   time.Time
}

// Endpoint is what DescribeEndpoint shows of an endpoint.
type Endpoint struct {
	Name          string
	Config        string             // EndpointConfigName
	Status        string             // Creating, Updating, InService, Failed, ...
	Weights       map[string]float64 // variant -> current weight
	FailureReason string
	// pending is applied when the endpoint leaves Updating/Creating.
	pending   func(e *Endpoint)
	polls     int    // DescribeEndpoint calls left before it settles
	stuck     bool   // stays Updating
	failNext  string // the next settle fails with this reason
	createdAt time.Time
}

type state struct {
	models    map[string]*model
	configs   map[string]*endpointConfig
	ends      map[string]*Endpoint
	settle    int // DescribeEndpoint calls an endpoint stays Creating/Updating
	stuckAll  bool
	failMsg   string
	tagsByArn map[string][]tag
	history   map[string][]map[string]float64 // endpoint -> weights each time it settled
}

func newState() state {
	return state{models: map[string]*model{}, configs: map[string]*endpointConfig{}, ends: map[string]*Endpoint{}, settle: 1, tagsByArn: map[string][]tag{}, history: map[string][]map[string]float64{}}
}

// SettleAfter makes endpoints stay Creating/Updating for n
// DescribeEndpoint calls after each change (default 1).
func (s *Server) SettleAfter(n int) { s.mu.Lock(); s.state.settle = n; s.mu.Unlock() }

// StickUpdating makes every later change leave the endpoint Updating for
// good, as an update SageMaker never finishes.
func (s *Server) StickUpdating(on bool) { s.mu.Lock(); s.state.stuckAll = on; s.mu.Unlock() }

// FailNextUpdate makes the next UpdateEndpoint fail with reason: the
// endpoint goes back to InService on its old config with FailureReason set,
// as SageMaker rolls back a failed update.
func (s *Server) FailNextUpdate(reason string) { s.mu.Lock(); s.state.failMsg = reason; s.mu.Unlock() }

// Endpoint returns a copy of the named endpoint, and whether it exists.
func (s *Server) Endpoint(name string) (Endpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.state.ends[name]
	if !ok {
		return Endpoint{}, false
	}
	c := *e
	c.Weights = map[string]float64{}
	for k, v := range e.Weights {
		c.Weights[k] = v
	}
	return c, true
}

// AddEndpoint sets up, as a person would have before Conveyor, an
// InService endpoint on config serving one variant of a model created from
// modelDataURL in image. It panics on a name SageMaker would refuse: that
// is a broken test or demo.
func (s *Server) AddEndpoint(endpoint, config, variant, modelName, image, modelDataURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for member, v := range map[string]string{"endpointName": endpoint, "endpointConfigName": config, "variantName": variant, "modelName": modelName} {
		if e := checkName(member, v); e != nil {
			panic("sagemakerfake.AddEndpoint: " + e.msg)
		}
	}
	st := &s.state
	st.models[modelName] = &model{name: modelName, arn: arn("model", modelName), container: container{Image: image, ModelDataUrl: modelDataURL}}
	one := 1.0
	c := &endpointConfig{name: config, arn: arn("endpoint-config", config), created: time.Now(),
		variants: []Variant{{VariantName: variant, ModelName: modelName, InitialInstanceCount: 1, InstanceType: "ml.m5.large", InitialVariantWeight: &one}}}
	st.configs[config] = c
	st.tagsByArn[c.arn] = nil
	st.ends[endpoint] = &Endpoint{Name: endpoint, Config: config, Status: "InService", Weights: weightsOf(c.variants), createdAt: time.Now()}
	st.settled(st.ends[endpoint])
}

// History returns the endpoint's variant weights each time a change to it
// settled (InService), oldest first: the traffic a rollout went through.
func (s *Server) History(endpoint string) []map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]float64(nil), s.state.history[endpoint]...)
}

func (st *state) settled(e *Endpoint) {
	w := make(map[string]float64, len(e.Weights))
	for k, v := range e.Weights {
		w[k] = v
	}
	st.history[e.Name] = append(st.history[e.Name], w)
}

// ConfigVariants returns the production variants of an endpoint config.
func (s *Server) ConfigVariants(name string) []Variant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.state.configs[name]; ok {
		return append([]Variant(nil), c.variants...)
	}
	return nil
}

// ModelDataURL returns the artifact location the named model was created with.
func (s *Server) ModelDataURL(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.state.models[name]; ok {
		return m.container.ModelDataUrl
	}
	return ""
}

func arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", Region, Account, kind, name)
}

// names: "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}" (the API reference's pattern
// for ModelName, EndpointConfigName, EndpointName and VariantName).
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

func checkName(member, v string) *apiError {
	if !namePattern.MatchString(v) {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", v, member)
	}
	return nil
}

// ModelDataUrl: "^(https|s3)://([^/]+)/?(.*)$", at most 1024 characters
// (the API reference's ContainerDefinition): SageMaker reads model
// artifacts from S3 or HTTPS only, so a registry URI such as models:/...
// is refused.
var modelDataURLPattern = regexp.MustCompile(`^(https|s3)://([^/]+)/?(.*)$`)

type op func(st *state, dec *json.Decoder) (any, *apiError)

func decode(dec *json.Decoder, v any) *apiError {
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	return nil
}

var ops = map[string]op{
	"CreateModel": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			ModelName        string     `json:"ModelName"`
			ExecutionRoleArn string     `json:"ExecutionRoleArn"`
			PrimaryContainer *container `json:"PrimaryContainer"`
			Tags             []tag      `json:"Tags"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		if e := checkName("modelName", in.ModelName); e != nil {
			return nil, e
		}
		if in.PrimaryContainer == nil || in.PrimaryContainer.Image == "" {
			return nil, validation("Either PrimaryContainer or Containers must be specified, with an Image.")
		}
		if u := in.PrimaryContainer.ModelDataUrl; u != "" && (len(u) > 1024 || !modelDataURLPattern.MatchString(u)) {
			return nil, validation("1 validation error detected: Value '%s' at 'primaryContainer.modelDataUrl' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$", u)
		}
		if _, ok := st.models[in.ModelName]; ok {
			return nil, validation("Cannot create already existing model %q.", arn("model", in.ModelName))
		}
		m := &model{name: in.ModelName, arn: arn("model", in.ModelName), container: *in.PrimaryContainer}
		st.models[in.ModelName] = m
		return map[string]string{"ModelArn": m.arn}, nil
	},
	"CreateEndpointConfig": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointConfigName string    `json:"EndpointConfigName"`
			ProductionVariants []Variant `json:"ProductionVariants"`
			Tags               []tag     `json:"Tags"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		if e := checkName("endpointConfigName", in.EndpointConfigName); e != nil {
			return nil, e
		}
		if len(in.ProductionVariants) == 0 || len(in.ProductionVariants) > 10 {
			return nil, validation("1 validation error detected: Value at 'productionVariants' failed to satisfy constraint: Member must have length between 1 and 10")
		}
		seen := map[string]bool{}
		for _, v := range in.ProductionVariants {
			if e := checkName("variantName", v.VariantName); e != nil {
				return nil, e
			}
			if seen[v.VariantName] {
				return nil, validation("Variant names must be unique; %q appears more than once.", v.VariantName)
			}
			seen[v.VariantName] = true
			if _, ok := st.models[v.ModelName]; !ok {
				return nil, validation("Could not find model %q.", arn("model", v.ModelName))
			}
		}
		if _, ok := st.configs[in.EndpointConfigName]; ok {
			return nil, validation("Cannot create already existing endpoint configuration %q.", arn("endpoint-config", in.EndpointConfigName))
		}
		c := &endpointConfig{name: in.EndpointConfigName, arn: arn("endpoint-config", in.EndpointConfigName), variants: in.ProductionVariants, tags: in.Tags, created: time.Now()}
		st.configs[c.name] = c
		st.tagsByArn[c.arn] = in.Tags
		return map[string]string{"EndpointConfigArn": c.arn}, nil
	},
	"DescribeEndpointConfig": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointConfigName string `json:"EndpointConfigName"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		c, ok := st.configs[in.EndpointConfigName]
		if !ok {
			return nil, validation("Could not find endpoint configuration %q.", arn("endpoint-config", in.EndpointConfigName))
		}
		return map[string]any{"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "ProductionVariants": c.variants, "CreationTime": float64(c.created.Unix())}, nil
	},
	"ListTags": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			ResourceArn string `json:"ResourceArn"`
			MaxResults  int    `json:"MaxResults"`
			NextToken   string `json:"NextToken"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		tags, ok := st.tagsByArn[in.ResourceArn]
		if !ok {
			return nil, validation("Could not find resource %q.", in.ResourceArn)
		}
		return map[string]any{"Tags": append([]tag{}, tags...)}, nil
	},
	"CreateEndpoint": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointName       string `json:"EndpointName"`
			EndpointConfigName string `json:"EndpointConfigName"`
			Tags               []tag  `json:"Tags"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		if e := checkName("endpointName", in.EndpointName); e != nil {
			return nil, e
		}
		c, ok := st.configs[in.EndpointConfigName]
		if !ok {
			return nil, validation("Could not find endpoint configuration %q.", arn("endpoint-config", in.EndpointConfigName))
		}
		if _, ok := st.ends[in.EndpointName]; ok {
			return nil, validation("Cannot create already existing endpoint %q.", arn("endpoint", in.EndpointName))
		}
		e := &Endpoint{Name: in.EndpointName, Status: "Creating", Weights: map[string]float64{}, createdAt: time.Now()}
		st.ends[e.Name] = e
		st.change(e, func(e *Endpoint) { e.Config = c.name; e.Weights = weightsOf(c.variants) })
		return map[string]string{"EndpointArn": arn("endpoint", e.Name)}, nil
	},
	"DescribeEndpoint": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointName string `json:"EndpointName"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		e, ok := st.ends[in.EndpointName]
		if !ok {
			return nil, validation("Could not find endpoint %q.", arn("endpoint", in.EndpointName))
		}
		if e.pending != nil && !e.stuck {
			if e.polls--; e.polls < 0 {
				if e.failNext != "" {
					e.Status, e.FailureReason, e.failNext = "InService", e.failNext, ""
				} else {
					e.pending(e)
					e.Status, e.FailureReason = "InService", ""
					st.settled(e)
				}
				e.pending = nil
			}
		}
		names := make([]string, 0, len(e.Weights))
		for n := range e.Weights {
			names = append(names, n)
		}
		sort.Strings(names)
		vs := []variantSummary{}
		for _, n := range names {
			vs = append(vs, variantSummary{VariantName: n, CurrentWeight: e.Weights[n], DesiredWeight: e.Weights[n], CurrentInstanceCount: 1, DesiredInstanceCount: 1})
		}
		out := map[string]any{
			"EndpointName": e.Name, "EndpointArn": arn("endpoint", e.Name), "EndpointStatus": e.Status,
			"ProductionVariants": vs, "CreationTime": float64(e.createdAt.Unix()), "LastModifiedTime": float64(time.Now().Unix()),
		}
		if e.Config != "" {
			out["EndpointConfigName"] = e.Config
		}
		if e.FailureReason != "" {
			out["FailureReason"] = e.FailureReason
		}
		return out, nil
	},
	"UpdateEndpoint": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointName       string `json:"EndpointName"`
			EndpointConfigName string `json:"EndpointConfigName"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		e, aerr := st.inService(in.EndpointName)
		if aerr != nil {
			return nil, aerr
		}
		c, ok := st.configs[in.EndpointConfigName]
		if !ok {
			return nil, validation("Could not find endpoint configuration %q.", arn("endpoint-config", in.EndpointConfigName))
		}
		e.Status = "Updating"
		if st.failMsg != "" {
			e.failNext, st.failMsg = st.failMsg, ""
		}
		st.change(e, func(e *Endpoint) { e.Config = c.name; e.Weights = weightsOf(c.variants) })
		return map[string]string{"EndpointArn": arn("endpoint", e.Name)}, nil
	},
	"UpdateEndpointWeightsAndCapacities": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointName                string `json:"EndpointName"`
			DesiredWeightsAndCapacities []struct {
				VariantName          string   `json:"VariantName"`
				DesiredWeight        *float64 `json:"DesiredWeight"`
				DesiredInstanceCount *int     `json:"DesiredInstanceCount"`
			} `json:"DesiredWeightsAndCapacities"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		e, aerr := st.inService(in.EndpointName)
		if aerr != nil {
			return nil, aerr
		}
		if len(in.DesiredWeightsAndCapacities) == 0 {
			return nil, validation("1 validation error detected: Value at 'desiredWeightsAndCapacities' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		want := map[string]float64{}
		for _, d := range in.DesiredWeightsAndCapacities {
			if _, ok := e.Weights[d.VariantName]; !ok {
				return nil, validation("The variant name(s) %q is/are not present within endpoint %q.", d.VariantName, arn("endpoint", e.Name))
			}
			if d.DesiredWeight == nil && d.DesiredInstanceCount == nil {
				return nil, validation("Either DesiredWeight or DesiredInstanceCount must be specified for variant %q.", d.VariantName)
			}
			if d.DesiredWeight != nil {
				if *d.DesiredWeight < 0 {
					return nil, validation("DesiredWeight must not be negative.")
				}
				want[d.VariantName] = *d.DesiredWeight
			}
		}
		e.Status = "Updating"
		st.change(e, func(e *Endpoint) {
			for k, v := range want {
				e.Weights[k] = v
			}
		})
		return map[string]string{"EndpointArn": arn("endpoint", e.Name)}, nil
	},
	"DeleteEndpoint": func(st *state, dec *json.Decoder) (any, *apiError) {
		var in struct {
			EndpointName string `json:"EndpointName"`
		}
		if e := decode(dec, &in); e != nil {
			return nil, e
		}
		if _, ok := st.ends[in.EndpointName]; !ok {
			return nil, validation("Could not find endpoint %q.", arn("endpoint", in.EndpointName))
		}
		delete(st.ends, in.EndpointName)
		return map[string]any{}, nil
	},
}

// inService returns the endpoint if it may be changed now: SageMaker
// refuses changes while an update is in progress.
func (st *state) inService(name string) (*Endpoint, *apiError) {
	e, ok := st.ends[name]
	if !ok {
		return nil, validation("Could not find endpoint %q.", arn("endpoint", name))
	}
	if e.Status != "InService" {
		return nil, validation("Cannot update in-progress endpoint %q.", arn("endpoint", name))
	}
	return e, nil
}

// change schedules apply for when e settles.
func (st *state) change(e *Endpoint, apply func(e *Endpoint)) {
	e.pending, e.polls, e.stuck = apply, st.settle, st.stuckAll
	if e.Status == "InService" {
		e.Status = "Updating"
	}
}

func weightsOf(vs []Variant) map[string]float64 {
	w := map[string]float64{}
	for _, v := range vs {
		weight := 1.0 // the API's default InitialVariantWeight
		if v.InitialVariantWeight != nil {
			weight = *v.InitialVariantWeight
		}
		w[v.VariantName] = weight
	}
	return w
}
