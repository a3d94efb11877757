package main

import (
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// The health gates' credentials are masked like the drivers' secrets.
func TestServerMaskerHidesHealthGateKeys(t *testing.T) {
	t.Parallel()
	scfg := serverconfig.Default()
	scfg.Health = map[string]serverconfig.Health{"web": {
		Prometheus: &serverconfig.PrometheusSource{URL: "http://prom:9090", TokenEnv: "PROM_TOKEN"},
		Datadog:    &serverconfig.DatadogSource{APIKeyEnv: "DD_API_KEY", AppKeyEnv: "DD_APP_KEY"},
	}}
	env := map[string]string{"PROM_TOKEN": "prom-secret-1", "DD_API_KEY": "dd-api-secret", "DD_APP_KEY": "dd-app-secret"}
	m := serverMasker(scfg, nil, func(k string) string { return env[k] })
	got := m.String("datadog answered 403 for dd-api-secret/dd-app-secret with prom-secret-1")
	for _, v := range env {
		if strings.Contains(got, v) {
			t.Errorf("%q left in %q", v, got)
		}
	}
}
