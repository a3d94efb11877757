package main

import (
	"net/url"

	"github.com/conveyor-dev/conveyor/bot"
	"github.com/conveyor-dev/conveyor/deploy/driver"
	"github.com/conveyor-dev/conveyor/internal/secretmask"
	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// loadServerConfig reads the server config file with the rules of the
// packages that own parts of it (deploy/driver for drivers:), so every
// problem is reported at once, each naming its setting.
func loadServerConfig(path string) (*serverconfig.Config, error) {
	return serverconfig.Load(path, driver.Rules)
}

// serverMasker masks every secret the server holds or hands to a driver:
// the app's own credentials (private key, webhook secret, Slack tokens,
// the database password, the OAuth client secret and session key), each registry's token or password, and each
// driver's secrets (secret_env, env values read by reference or named
// like a credential), and the health gates' Prometheus token and Datadog
// keys. Installation tokens the app mints at run time are
// not listed: they are ghs_ tokens, which the masker recognises by shape.
func serverMasker(scfg *serverconfig.Config, cfg *bot.Config, getenv func(string) string) *secretmask.Masker {
	var values []string
	if cfg != nil {
		values = append(values, string(cfg.PrivateKey), cfg.WebhookSecret, cfg.SlackBotToken, cfg.SlackSigningSecret)
		values = append(values, urlPassword(cfg.DatabaseURL), urlPassword(cfg.GitHubAPIURL))
	}
	// The dashboard's sign-in secrets (web/signin); users' tokens are ghu_ shapes.
	values = append(values, getenv("GITHUB_CLIENT_SECRET"), getenv("CONVEYOR_SESSION_KEY"))
	for _, r := range scfg.Registries {
		for _, name := range []string{r.TokenEnv, r.PasswordEnv} {
			if name != "" {
				values = append(values, getenv(name))
			}
		}
	}
	for _, d := range scfg.Drivers {
		values = append(values, driver.SecretValues(d, getenv)...)
	}
	for _, h := range scfg.Health {
		values = append(values, driver.HealthSecretValues(h, getenv)...)
	}
	return secretmask.New(values...)
}

// urlPassword is the password of a URL's user info or query, or "".
func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok {
		return p
	}
	return u.Query().Get("password")
}
