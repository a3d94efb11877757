package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/conveyor-dev/conveyor/internal/ghclient"
	"github.com/conveyor-dev/conveyor/internal/secretmask"
)

// Config is the runtime configuration read from Probot-style environment
// variables. Secrets are never printed: Config logs itself redacted.
type Config struct {
	AppID              int64
	PrivateKey         []byte // PEM
	WebhookSecret      string
	GitHubAPIURL       string // "" means https://api.github.com/
	SlackBotToken      string
	SlackSigningSecret string
	SlackAPIURL        string
	DatabaseURL        string
	Port               int
	AppSlug            string // optional; learnt from GET /app otherwise
	// MetricsAddr, when set, serves /metrics on its own listener (an
	// internal address) instead of the main port.
	MetricsAddr string
	// MetricsToken, when set, is required as "Authorization: Bearer <token>"
	// on /metrics.
	MetricsToken string
	// WebhookBodyBudget bounds the webhook body bytes held before their
	// signature is checked, across all requests (0: DefaultBodyBudget).
	WebhookBodyBudget int64
}

// ConfigError names the setting that is missing or malformed.
type ConfigError struct {
	Setting string
	Problem string
}

// Error names the setting and the problem.
func (e *ConfigError) Error() string { return e.Setting + ": " + e.Problem }

// ConfigFromEnv reads the configuration with getenv (os.Getenv in serve).
func ConfigFromEnv(getenv func(string) string) (*Config, error) {
	c := &Config{
		WebhookSecret:      getenv("WEBHOOK_SECRET"),
		GitHubAPIURL:       getenv("GITHUB_API_URL"),
		SlackBotToken:      getenv("SLACK_BOT_TOKEN"),
		SlackSigningSecret: getenv("SLACK_SIGNING_SECRET"),
		SlackAPIURL:        getenv("SLACK_API_URL"),
		DatabaseURL:        getenv("DATABASE_URL"),
		AppSlug:            getenv("APP_SLUG"),
		MetricsAddr:        getenv("METRICS_ADDR"),
		MetricsToken:       getenv("METRICS_TOKEN"),
		Port:               3000,
	}
	idText := getenv("APP_ID")
	if idText == "" {
		return nil, &ConfigError{"APP_ID", "missing (the GitHub App's numeric ID, shown on its settings page)"}
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return nil, &ConfigError{"APP_ID", fmt.Sprintf("%q is not a positive number", idText)}
	}
	c.AppID = id
	key := getenv("PRIVATE_KEY")
	if key == "" {
		p := getenv("PRIVATE_KEY_PATH")
		if p == "" {
			return nil, &ConfigError{"PRIVATE_KEY", "missing (set PRIVATE_KEY to the app's PEM key or PRIVATE_KEY_PATH to its file)"}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, &ConfigError{"PRIVATE_KEY_PATH", fmt.Sprintf("cannot read %s: %v", p, errors.Unwrap(err))}
		}
		key = string(b)
	}
	// Probot convention: a key in one line with literal \n.
	key = strings.ReplaceAll(key, `\n`, "\n")
	if _, err := ghclient.ParsePrivateKey([]byte(key)); err != nil {
		setting := "PRIVATE_KEY"
		if getenv("PRIVATE_KEY") == "" {
			setting = "PRIVATE_KEY_PATH"
		}
		return nil, &ConfigError{setting, err.Error()}
	}
	c.PrivateKey = []byte(key)
	if c.WebhookSecret == "" {
		return nil, &ConfigError{"WEBHOOK_SECRET", "missing (the secret set on the GitHub App's webhook)"}
	}
	if c.GitHubAPIURL != "" {
		u, err := url.Parse(c.GitHubAPIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ConfigError{"GITHUB_API_URL", fmt.Sprintf("%q is not an http(s) URL (for GitHub Enterprise write https://ghe.example.com/api/v3)", secretmask.URL(c.GitHubAPIURL))}
		}
	}
	if c.SlackAPIURL != "" {
		u, err := url.Parse(c.SlackAPIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ConfigError{"SLACK_API_URL", fmt.Sprintf("%q is not an http(s) URL", secretmask.URL(c.SlackAPIURL))}
		}
	}
	if (c.SlackBotToken == "") != (c.SlackSigningSecret == "") {
		missing := "SLACK_SIGNING_SECRET"
		if c.SlackBotToken == "" {
			missing = "SLACK_BOT_TOKEN"
		}
		return nil, &ConfigError{missing, "missing (Slack needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)"}
	}
	if p := getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return nil, &ConfigError{"PORT", fmt.Sprintf("%q is not a port number", p)}
		}
		c.Port = n
	}
	if b := getenv("WEBHOOK_BODY_BUDGET_MIB"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < MaxWebhookBody>>20 || n > 1<<20 {
			return nil, &ConfigError{"WEBHOOK_BODY_BUDGET_MIB", fmt.Sprintf("%q is not a number of MiB from %d (one delivery of GitHub's largest size) up", b, MaxWebhookBody>>20)}
		}
		c.WebhookBodyBudget = n << 20
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, &ConfigError{"METRICS_ADDR", fmt.Sprintf("%q is not host:port (for example 127.0.0.1:9090)", c.MetricsAddr)}
		}
	}
	return c, nil
}

// LogValue redacts every secret.
func (c *Config) LogValue() slog.Value {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return slog.GroupValue(
		slog.Int64("app_id", c.AppID),
		slog.String("private_key", set(string(c.PrivateKey))),
		slog.String("webhook_secret", set(c.WebhookSecret)),
		slog.String("github_api_url", secretmask.URL(c.GitHubAPIURL)),
		slog.String("slack_bot_token", set(c.SlackBotToken)),
		slog.String("slack_signing_secret", set(c.SlackSigningSecret)),
		slog.Int("port", c.Port),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("metrics_token", set(c.MetricsToken)),
	)
}
