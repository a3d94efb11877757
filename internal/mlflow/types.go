package mlflow

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Model version statuses, as MLflow spells them.
const (
	StatusReady   = "READY"
	StatusPending = "PENDING_REGISTRATION"
	StatusFailed  = "FAILED_REGISTRATION"
)

// ModelVersion is one registered model version.
type ModelVersion struct {
	Name    string
	Version string
	Status  string // READY, PENDING_REGISTRATION or FAILED_REGISTRATION
	RunID   string
	// ModelID is the MLflow 3 logged model the version was registered
	// from ("" on older servers); its metrics are the version's.
	ModelID     string
	Source      string
	Description string
	Aliases     []string
	// Metrics holds the metrics MLflow 3 servers return on the version itself;
	// it is empty for older servers (use Client.VersionMetrics). Values may
	// be NaN or infinite, as MLflow stores them.
	Metrics map[string]float64
}

// Run is an MLflow run: its status and the latest value of each metric.
type Run struct {
	ID      string
	Status  string
	Metrics map[string]float64
	Params  map[string]string
}

// Float is a metric value as MLflow writes it. MLflow logs NaN and infinite
// metrics (mlflow/entities/metric.py keeps any float) and serialises its
// answers with protobuf's JSON mapping (mlflow/utils/proto_json_utils.py,
// message_to_json), which writes non-finite doubles as the strings "NaN",
// "Infinity" and "-Infinity". Float reads those as well as plain numbers.
type Float float64

// UnmarshalJSON accepts a JSON number or one of protobuf's strings for
// non-finite doubles (a quoted number too, which the same mapping accepts).
func (f *Float) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*f = Float(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a metric value must be a number or \"NaN\", \"Infinity\", \"-Infinity\", not %s", b)
	}
	switch s {
	case "NaN":
		*f = Float(math.NaN())
	case "Infinity":
		*f = Float(math.Inf(1))
	case "-Infinity":
		*f = Float(math.Inf(-1))
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("a metric value must be a number or \"NaN\", \"Infinity\", \"-Infinity\", not %q", s)
		}
		*f = Float(v)
	}
	return nil
}

// wireMetric is MLflow's Metric message.
type wireMetric struct {
	Key       string `json:"key"`
	Value     Float  `json:"value"`
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
}

// metricList decodes MLflow's list of metrics, also accepting a plain
// {"key": value} object as some MLflow-compatible servers send.
type metricList []wireMetric

// UnmarshalJSON accepts a list of Metric messages or a key/value object.
func (m *metricList) UnmarshalJSON(b []byte) error {
	var list []wireMetric
	if err := json.Unmarshal(b, &list); err == nil {
		*m = list
		return nil
	}
	var obj map[string]Float
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("metrics must be a list of {key, value, timestamp, step} or an object of numbers: %w", err)
	}
	list = make([]wireMetric, 0, len(obj))
	for k, v := range obj {
		list = append(list, wireMetric{Key: k, Value: v})
	}
	*m = list
	return nil
}

// latest keeps the most recent value per key: the highest timestamp, then
// the highest step, then the last one listed.
func (m metricList) latest() map[string]float64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]float64, len(m))
	best := make(map[string]wireMetric, len(m))
	for _, x := range m {
		prev, seen := best[x.Key]
		if seen && (x.Timestamp < prev.Timestamp || (x.Timestamp == prev.Timestamp && x.Step < prev.Step)) {
			continue
		}
		best[x.Key] = x
		out[x.Key] = float64(x.Value)
	}
	return out
}

// wireModelVersion is MLflow's ModelVersion message (the fields Conveyor reads).
type wireModelVersion struct {
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Status      string     `json:"status"`
	RunID       string     `json:"run_id"`
	ModelID     string     `json:"model_id"`
	Source      string     `json:"source"`
	Description string     `json:"description"`
	Aliases     aliasList  `json:"aliases"`
	Metrics     metricList `json:"metrics"`
}

// aliasList decodes a version's aliases: a list of names in MLflow's
// ModelVersion (model_registry.proto, repeated string aliases) and a list
// of RegisteredModelAlias objects, {alias, version}, in Unity Catalog's
// (databricks_uc_registry_messages.proto).
type aliasList []string

// UnmarshalJSON accepts either form.
func (a *aliasList) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err == nil {
		*a = names
		return nil
	}
	var objs []struct {
		Alias string `json:"alias"`
	}
	if err := json.Unmarshal(b, &objs); err != nil {
		return fmt.Errorf("aliases must be a list of names or of {alias, version}: %w", err)
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Alias)
	}
	*a = out
	return nil
}

func (w wireModelVersion) toModelVersion() *ModelVersion {
	return &ModelVersion{
		Name:        w.Name,
		Version:     w.Version,
		Status:      w.Status,
		RunID:       w.RunID,
		ModelID:     w.ModelID,
		Source:      w.Source,
		Description: w.Description,
		Aliases:     w.Aliases,
		Metrics:     w.Metrics.latest(),
	}
}

// modelVersionResponse wraps model-versions/get and registered-models/alias.
type modelVersionResponse struct {
	ModelVersion *wireModelVersion `json:"model_version"`
}

// runResponse is the answer of runs/get.
type runResponse struct {
	Run *struct {
		Info struct {
			RunID   string `json:"run_id"`
			RunUUID string `json:"run_uuid"`
			Status  string `json:"status"`
		} `json:"info"`
		Data struct {
			Metrics metricList `json:"metrics"`
			Params  []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"params"`
		} `json:"data"`
	} `json:"run"`
}

// loggedModelResponse is the answer of GET logged-models/{model_id}
// (service.proto, GetLoggedModel): the LoggedModel's data holds its metrics.
type loggedModelResponse struct {
	Model *struct {
		Data struct {
			Metrics metricList `json:"metrics"`
		} `json:"data"`
	} `json:"model"`
}
