package mlflow

import (
	"encoding/json"
	"fmt"
)

// Model version statuses, as MLflow spells them.
const (
	StatusReady   = "READY"
	StatusPending = "PENDING_REGISTRATION"
	StatusFailed  = "FAILED_REGISTRATION"
)

// ModelVersion is one registered model version.
type ModelVersion struct {
	Name        string
	Version     string
	Status      string // READY, PENDING_REGISTRATION or FAILED_REGISTRATION
	RunID       string
	Source      string
	Description string
	Aliases     []string
	// Metrics holds the metrics MLflow 3 servers return on the version itself;
	// it is empty for older servers (use Client.VersionMetrics).
	Metrics map[string]float64
}

// Run is an MLflow run: its status and the latest value of each metric.
type Run struct {
	ID      string
	Status  string
	Metrics map[string]float64
	Params  map[string]string
}

// wireMetric is MLflow's Metric message.
type wireMetric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
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
	var obj map[string]float64
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
		out[x.Key] = x.Value
	}
	return out
}

// wireModelVersion is MLflow's ModelVersion message (the fields Conveyor reads).
type wireModelVersion struct {
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Status      string     `json:"status"`
	RunID       string     `json:"run_id"`
	Source      string     `json:"source"`
	Description string     `json:"description"`
	Aliases     []string   `json:"aliases"`
	Metrics     metricList `json:"metrics"`
}

func (w wireModelVersion) toModelVersion() *ModelVersion {
	return &ModelVersion{
		Name:        w.Name,
		Version:     w.Version,
		Status:      w.Status,
		RunID:       w.RunID,
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
