package driver

import (
	"fmt"
	"sort"
	"strings"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// Types lists the driver types, in the order messages name them.
var Types = []string{"exec", "github-workflow", "mlflow", "dbt", "webhook", "sagemaker", "vertex"}

// Rules validates the drivers: section of a server config and the metric
// gates of health: every rule about a driver entry or a gate lives here,
// next to the code that relies on it, and nowhere else. Pass it to serverconfig.Load or Parse, which report its
// problems among the file's others; New applies the same rules to one entry.
func Rules(c *serverconfig.Config) []string {
	names := make([]string, 0, len(c.Drivers))
	for name := range c.Drivers {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []string
	for _, name := range names {
		problems = append(problems, checkDriver(name, c.Drivers[name], func(reg string) bool {
			_, ok := c.Registries[reg]
			return ok
		})...)
	}
	return append(problems, checkHealth(c)...)
}

// checkDriver returns the problems of one driver entry, each naming its
// setting (drivers.<name>.<key>). registryDefined answers whether a
// registry name is defined; nil skips that cross-reference (New has no
// registries to look at; the registry is resolved when the driver runs).
func checkDriver(name string, d serverconfig.Driver, registryDefined func(string) bool) []string {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	switch d.Type {
	case "exec":
		if len(d.Command) == 0 {
			add("drivers.%s.command: missing (an exec driver runs a command, for example [\"/opt/deploy/web.sh\"])", name)
		}
	case "dbt":
		// command defaults to dbt build; profiles_dir is optional.
	case "mlflow":
		if registryDefined != nil && !registryDefined(d.Registry) {
			add("drivers.%s.registry: %q is not defined under registries", name, d.Registry)
		}
	case "sagemaker":
		problems = append(problems, checkSageMaker(name, d, registryDefined)...)
	case "vertex":
		problems = append(problems, checkVertex(name, d, registryDefined)...)
	case "github-workflow":
		if d.Workflow == "" {
			add("drivers.%s.workflow: missing (write the workflow file name, for example deploy.yml)", name)
		}
	case "webhook":
		if d.URL == "" {
			add("drivers.%s.url: missing (write the deployer's URL)", name)
		}
		if d.SecretEnv == "" {
			add("drivers.%s.secret_env: missing (webhook deploys are signed, so name the environment variable holding the shared secret)", name)
		}
	default:
		add("drivers.%s.type: %q is not a driver type (write one of %s)", name, d.Type, strings.Join(Types, ", "))
	}
	return problems
}
