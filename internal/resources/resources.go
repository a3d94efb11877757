// Package resources owns resource quantities (cpu, memory, gpu, replicas) and
// their monthly cost under a server price table. It computes facts for the
// policy; it never decides whether a cost or a quota is acceptable.
package resources

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// HoursPerMonth is the number of hours used to turn hourly prices into a
// monthly cost (365 days / 12 months * 24 hours).
const HoursPerMonth = 730.0

// Spec is what one artifact asks for, per replica, times its replicas.
type Spec struct {
	CPU         float64 `json:"cpu"`
	MemoryBytes int64   `json:"memory_bytes"`
	GPU         float64 `json:"gpu"`
	Replicas    int     `json:"replicas"`
}

// Totals returns cpu, memory in GiB and gpu multiplied by the replica count
// (a zero replica count counts as one).
func (s Spec) Totals() (cpu, memoryGiB, gpu float64) {
	r := float64(s.Replicas)
	if r <= 0 {
		r = 1
	}
	return s.CPU * r, float64(s.MemoryBytes) / (1 << 30) * r, s.GPU * r
}

// Pricing is the hourly price table from the server config.
type Pricing struct {
	CPUHour       float64 `yaml:"cpu_hour" json:"cpu_hour"`
	MemoryGiBHour float64 `yaml:"memory_gib_hour" json:"memory_gib_hour"`
	GPUHour       float64 `yaml:"gpu_hour" json:"gpu_hour"`
	CostGateUSD   float64 `yaml:"cost_gate_usd" json:"cost_gate_usd"`
	FinanceTeam   string  `yaml:"finance_team" json:"finance_team"`
}

// MonthlyUSD is the monthly cost of running s under p, rounded to cents.
func (p Pricing) MonthlyUSD(s Spec) float64 {
	cpu, mem, gpu := s.Totals()
	v := (cpu*p.CPUHour + mem*p.MemoryGiBHour + gpu*p.GPUHour) * HoursPerMonth
	return math.Round(v*100) / 100
}

var memoryUnits = []struct {
	suffix string
	factor float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

// ParseMemory parses a Kubernetes-style memory quantity ("512Mi", "4Gi",
// "1G", "1048576") into bytes.
func ParseMemory(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty memory quantity (write for example 4Gi or 512Mi)")
	}
	factor := 1.0
	num := s
	for _, u := range memoryUnits {
		if strings.HasSuffix(s, u.suffix) {
			factor = u.factor
			num = strings.TrimSuffix(s, u.suffix)
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a memory quantity (write for example 4Gi or 512Mi)", s)
	}
	return int64(v * factor), nil
}

// FormatMemory renders bytes as the largest binary unit that divides it
// evenly enough for display ("16Gi", "512Mi").
func FormatMemory(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGi", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMi", b>>20)
	case b >= 1<<30:
		return fmt.Sprintf("%.1fGi", float64(b)/(1<<30))
	default:
		return strconv.FormatInt(b, 10)
	}
}
