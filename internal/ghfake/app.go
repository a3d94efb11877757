package ghfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type manifestState struct {
	manifest map[string]any
	expires  time.Time
}

// appJSON is the GitHub App object; callers hold s.mu or only read immutable fields.
func (s *Server) appJSON() map[string]any {
	return map[string]any{
		"id": s.appID, "slug": s.appSlug, "node_id": nodeID("A", s.appID), "name": s.appSlug,
		"owner": s.orgJSON("conveyor-dev"), "description": "", "external_url": "https://github.com/apps/" + s.appSlug,
		"html_url":    "https://github.com/apps/" + s.appSlug,
		"permissions": appPermissions(), "events": appEvents(),
		"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
	}
}

func (s *Server) handleGetApp(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.appJSON())
}

func (s *Server) handleListInstallations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, id := range slices.Sorted(maps.Keys(s.installations)) {
		out = append(out, s.installationJSON(s.installations[id]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetInstallation(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installations[id]
	if in == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(in))
}

// handleRepoInstallation is GET /repos/{o}/{r}/installation (app JWT).
func (s *Server) handleRepoInstallation(w http.ResponseWriter, r *http.Request, rs *repoState) {
	writeJSON(w, http.StatusOK, s.installationJSON(s.installations[rs.installationID]))
}

// handleInstallationRepos is GET /installation/repositories for the token's installation.
func (s *Server) handleInstallationRepos(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimSpace(r.Header.Get("Authorization")[strings.Index(r.Header.Get("Authorization"), " ")+1:])
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	var list []*repoState
	for _, rs := range s.sortedRepos() {
		if t != nil && rs.installationID == t.installationID && (t.repos == nil || t.repos[strings.ToLower(rs.name)]) {
			list = append(list, rs)
		}
	}
	out := []any{}
	for _, rs := range paginate(s, w, r, list) {
		out = append(out, s.repoJSON(rs))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "repository_selection": "selected",
		"repositories": out})
}

// ManifestCode registers an app manifest (as GitHub does when a user submits the manifest
// form) and returns the one-time code that POST /app-manifests/{code}/conversions exchanges.
// The conversion hands back this emulator's own app credentials, so they work against it.
func (s *Server) ManifestCode(manifest any) string {
	raw, err := json.Marshal(manifest)
	if err != nil {
		panic(fmt.Sprintf("ghfake: ManifestCode: manifest is not JSON-encodable: %v", err))
	}
	m := map[string]any{}
	_ = json.Unmarshal(raw, &m)
	code := randomAlnum(20)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifests[code] = &manifestState{manifest: m, expires: time.Now().Add(time.Hour)}
	return code
}

func (s *Server) handleManifestConversion(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.manifests[code]
	delete(s.manifests, code) // codes are single use
	if m == nil || time.Now().After(m.expires) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if name, _ := m.manifest["name"].(string); name != "" {
		s.appSlug = slugify(name)
	}
	if hook, ok := m.manifest["hook_attributes"].(map[string]any); ok {
		if u, _ := hook["url"].(string); u != "" {
			s.hookURL = u
		}
	}
	s.webhookSecret = randomAlnum(40)
	out := s.appJSON()
	if name, _ := m.manifest["name"].(string); name != "" {
		out["name"] = name
	}
	if d, _ := m.manifest["description"].(string); d != "" {
		out["description"] = d
	}
	out["external_url"] = m.manifest["url"]
	// The new app's OAuth client: its credentials and callback URLs are what the
	// user sign-in flow (oauth.go) checks from now on.
	s.oauth.clientID = "Iv1." + strings.ToLower(randomAlnum(16))
	s.oauth.clientSecret = strings.ToLower(randomAlnum(40))
	if cbs, ok := m.manifest["callback_urls"].([]any); ok {
		s.oauth.callbacks = nil
		for _, cb := range cbs {
			if u, _ := cb.(string); u != "" {
				s.oauth.callbacks = append(s.oauth.callbacks, u)
			}
		}
	}
	out["client_id"] = s.oauth.clientID
	out["client_secret"] = s.oauth.clientSecret
	out["webhook_secret"] = s.webhookSecret
	out["pem"] = string(s.keyPEM)
	writeJSON(w, http.StatusCreated, out)
}

func slugify(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
