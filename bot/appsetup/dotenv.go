package appsetup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// envEntry is one KEY=value line of the .env file.
type envEntry struct {
	key, value string
}

// envEntries lists what `conveyor serve` reads, in a stable order: the app's
// credentials, its OAuth client (dashboard sign-in), a fresh key that signs
// the dashboard's session cookies, and the Enterprise addresses when set.
func envEntries(c *Credentials, githubURL, apiURL, sessionKey string) []envEntry {
	entries := []envEntry{
		{"APP_ID", strconv.FormatInt(c.AppID, 10)},
		{"PRIVATE_KEY", c.PrivateKeyPEM},
		{"WEBHOOK_SECRET", c.WebhookSecret},
		{"GITHUB_CLIENT_ID", c.ClientID},
		{"GITHUB_CLIENT_SECRET", c.ClientSecret},
		{"CONVEYOR_SESSION_KEY", sessionKey},
	}
	if githubURL != defaultGitHubURL {
		entries = append(entries, envEntry{"GITHUB_URL", githubURL})
	}
	if apiURL != defaultAPIURL {
		entries = append(entries, envEntry{"GITHUB_API_URL", apiURL})
	}
	return entries
}

// newSessionKey is 32 random bytes in hex: the HMAC and AES key material of
// the dashboard's session cookies (web/signin).
func newSessionKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate the session key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// formatEnv renders entries as dotenv lines.
func formatEnv(entries []envEntry) string {
	var b strings.Builder
	b.WriteString("# Written by conveyor setup. Keep this file secret: it holds the app's private key.\n")
	for _, e := range entries {
		b.WriteString(e.key + "=" + quoteEnvValue(e.value) + "\n")
	}
	return b.String()
}

// quoteEnvValue leaves simple values bare and double-quotes the rest with
// backslash escapes, so a PEM becomes one line with literal \n: the Probot
// convention that dotenv loaders and `conveyor serve` both understand.
func quoteEnvValue(v string) string {
	simple := v != ""
	for i := 0; i < len(v) && simple; i++ {
		c := v[i]
		simple = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_./:@+", c) >= 0
	}
	if simple {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", `\n`, "$", `\$`)
	return `"` + r.Replace(v) + `"`
}

// writeEnvFile writes the file with mode 0600 via a temporary file in the same
// directory, so that a reader never sees a half-written key. Without force an
// existing file is left alone.
func writeEnvFile(path string, entries []envEntry, force bool) error {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists; move it away or pass --force to overwrite it", path)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".env-conveyor-*")
	if err != nil {
		return fmt.Errorf("create a file in %s for the credentials: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("restrict %s to its owner: %w", tmp.Name(), err)
	}
	if _, err := tmp.WriteString(formatEnv(entries)); err != nil {
		tmp.Close()
		return fmt.Errorf("write the credentials to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the credentials to %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("move the credentials into %s: %w", path, err)
	}
	return nil
}
