package mlflow

import (
	"fmt"
	"sync"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// FromConfig is the one way Conveyor builds a client for a registry of the
// server config: Basic auth when a username is set, else a Bearer token when
// a token variable is named; secrets are read through getenv.
func FromConfig(r serverconfig.Registry, getenv func(string) string) *Client {
	var opts []Option
	switch {
	case r.Username != "":
		opts = append(opts, WithBasicAuth(r.Username, getenv(r.PasswordEnv)))
	case r.TokenEnv != "":
		opts = append(opts, WithToken(getenv(r.TokenEnv)))
	}
	if r.UIURL != "" {
		opts = append(opts, WithUIURL(r.UIURL))
	}
	if r.Type == TypeUnityCatalog {
		opts = append(opts, WithUnityCatalog())
	}
	return New(r.URL, opts...)
}

// Registries returns the clients of regs by name, each built once with
// FromConfig; the check suite, the drivers and the CLI share it.
func Registries(regs map[string]serverconfig.Registry, getenv func(string) string) func(name string) (*Client, error) {
	var mu sync.Mutex
	clients := map[string]*Client{}
	return func(name string) (*Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[name]; ok {
			return c, nil
		}
		r, ok := regs[name]
		if !ok {
			return nil, fmt.Errorf("registry %q is not defined in the server config (registries:)", name)
		}
		c := FromConfig(r, getenv)
		clients[name] = c
		return c, nil
	}
}
