package mlflow_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conveyor-dev/conveyor/internal/mlflow"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// FromConfig authenticates as the server config says (Basic when a username
// is set, else a Bearer token), reading secrets through getenv; Registries
// builds each client once and refuses names the config does not define.
func TestFromConfig(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"model_version": {"name": "m", "version": "1", "status": "READY"}}`))
	}))
	defer srv.Close()
	env := map[string]string{"PW": "secret", "TOKEN": "tok"}
	getenv := func(k string) string { return env[k] }
	regs := mlflow.Registries(map[string]serverconfig.Registry{
		"basic":  {Type: "mlflow", URL: srv.URL, Username: "bot", PasswordEnv: "PW", TokenEnv: "TOKEN"},
		"bearer": {Type: "mlflow", URL: srv.URL, TokenEnv: "TOKEN"},
		"open":   {Type: "mlflow", URL: srv.URL},
	}, getenv)
	for _, name := range []string{"basic", "bearer", "open"} {
		c, err := regs(name)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := regs(name); again != c {
			t.Errorf("%s: a second client was built", name)
		}
		if _, err := c.GetModelVersion(context.Background(), "m", "1"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(auth) != 3 || !strings.HasPrefix(auth[0], "Basic ") || auth[1] != "Bearer tok" || auth[2] != "" {
		t.Errorf("Authorization headers = %q", auth)
	}
	if _, err := regs("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown registry: err = %v", err)
	}
}
