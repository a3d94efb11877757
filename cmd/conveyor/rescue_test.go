package main

import (
	"testing"
	"time"

	"github.com/conveyor-dev/conveyor/deploy"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// A rollout step is kept from rescue for as long as the slowest configured
// driver may take to deploy, be checked and roll back.
func TestStepTimeoutCoversTheSlowestDriver(t *testing.T) {
	t.Parallel()
	scfg := serverconfig.Default()
	if got := stepTimeout(scfg); got != deploy.DefaultStepTimeout {
		t.Fatalf("no drivers: %s; want the default %s", got, deploy.DefaultStepTimeout)
	}
	scfg.Drivers = map[string]serverconfig.Driver{
		"quick": {Type: "exec", Timeout: serverconfig.Duration{Duration: time.Minute}},
		"slow":  {Type: "exec", Timeout: serverconfig.Duration{Duration: 40 * time.Minute}},
	}
	if got := stepTimeout(scfg); got != 2*time.Hour {
		t.Fatalf("a 40-minute driver: %s; want 2h", got)
	}
}
