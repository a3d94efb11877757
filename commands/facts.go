package commands

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
	lru "github.com/hashicorp/golang-lru/v2"
)

// DefaultFactsTTL is how long an actor's permission and team memberships are
// trusted before they are asked again.
const DefaultFactsTTL = 5 * time.Minute

// ActorFacts is what the policy needs to know about the person acting.
type ActorFacts struct {
	Login      string
	Permission string   // admin, maintain, write, triage, read; "" when none
	Teams      []string // "org/slug" of the asked teams the actor is an active member of
}

// factCache keeps actor facts per installation, so a burst of commands costs
// one permission call and one membership call per team. Entries expire after
// ttl and are dropped by membership, member and organization events; each
// map is a bounded LRU (golang-lru). Expiry is checked against the handler's
// clock rather than with golang-lru's expirable package, which reads the
// wall clock itself: the handler's clock is what tests and the policy's
// "now" agree on.
type factCache struct {
	ttl   time.Duration
	now   func() time.Time
	perms *lru.Cache[factKey, factEntry] // subject = repository
	teams *lru.Cache[factKey, factEntry] // subject = team "org/slug"
}

type factKey struct {
	installation int64
	subject      string
	login        string
}

type factEntry struct {
	value   string // permission, or "member"/"" for a team
	expires time.Time
}

// factCacheSize bounds each map: enough for every active user of a busy
// installation's repositories and teams.
const factCacheSize = 8192

func newFactCache(ttl time.Duration, now func() time.Time) *factCache {
	if ttl <= 0 {
		ttl = DefaultFactsTTL
	}
	perms, _ := lru.New[factKey, factEntry](factCacheSize)
	teams, _ := lru.New[factKey, factEntry](factCacheSize)
	return &factCache{ttl: ttl, now: now, perms: perms, teams: teams}
}

func (c *factCache) get(m *lru.Cache[factKey, factEntry], k factKey) (string, bool) {
	e, ok := m.Get(k)
	if !ok || !c.now().Before(e.expires) {
		return "", false
	}
	return e.value, true
}

func (c *factCache) put(m *lru.Cache[factKey, factEntry], k factKey, v string) {
	m.Add(k, factEntry{value: v, expires: c.now().Add(c.ttl)})
}

// forget drops every cached fact of login in the installation (login "" drops
// the whole installation).
func (c *factCache) forget(installation int64, login string) {
	for _, m := range []*lru.Cache[factKey, factEntry]{c.perms, c.teams} {
		for _, k := range m.Keys() {
			if k.installation == installation && (login == "" || strings.EqualFold(k.login, login)) {
				m.Remove(k)
			}
		}
	}
}

// actor returns login's permission on repo and its memberships among teams,
// from the cache or the GitHub API.
func (c *factCache) actor(ctx context.Context, gh *github.Client, installation int64, repo, login string, teams []string) (ActorFacts, error) {
	f := ActorFacts{Login: login, Teams: []string{}}
	perm, err := c.permission(ctx, gh, installation, repo, login)
	if err != nil {
		return f, err
	}
	f.Permission = perm
	for _, team := range teams {
		member, err := c.member(ctx, gh, installation, team, login)
		if err != nil {
			return f, err
		}
		if member {
			f.Teams = append(f.Teams, team)
		}
	}
	return f, nil
}

func (c *factCache) permission(ctx context.Context, gh *github.Client, installation int64, repo, login string) (string, error) {
	k := factKey{installation, strings.ToLower(repo), strings.ToLower(login)}
	if v, ok := c.get(c.perms, k); ok {
		return v, nil
	}
	owner, name := splitRepo(repo)
	lvl, _, err := gh.Repositories.GetPermissionLevel(ctx, owner, name, login)
	perm := ""
	switch {
	case notFound(err):
	case err != nil:
		return "", fmt.Errorf("read @%s's permission on %s: %w", login, repo, err)
	default:
		// role_name tells maintain and triage apart; the legacy permission
		// field folds them into write and read.
		perm = permissionName(lvl.GetRoleName())
		if perm == "" {
			perm = permissionName(lvl.GetPermission())
		}
	}
	c.put(c.perms, k, perm)
	return perm, nil
}

func permissionName(p string) string {
	switch p {
	case "admin", "maintain", "write", "triage", "read":
		return p
	}
	return ""
}

func (c *factCache) member(ctx context.Context, gh *github.Client, installation int64, team, login string) (bool, error) {
	k := factKey{installation, strings.ToLower(team), strings.ToLower(login)}
	if v, ok := c.get(c.teams, k); ok {
		return v == "member", nil
	}
	org, slug, ok := strings.Cut(team, "/")
	if !ok {
		return false, nil
	}
	m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, org, slug, login)
	v := ""
	switch {
	case notFound(err):
	case err != nil:
		return false, fmt.Errorf("read @%s's membership of %s: %w", login, team, err)
	case m.GetState() == "active":
		v = "member"
	}
	c.put(c.teams, k, v)
	return v == "member", nil
}

// relevantTeams collects the teams whose membership matters for a decision:
// approvers, owners, server config teams, the finance team and the override
// teams. Users (entries without "/") are not teams and are left out.
func relevantTeams(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, t := range l {
			t = strings.TrimPrefix(strings.TrimSpace(t), "@")
			if !strings.Contains(t, "/") || seen[strings.ToLower(t)] {
				continue
			}
			seen[strings.ToLower(t)] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func notFound(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound
}

func splitRepo(full string) (owner, name string) {
	owner, name, _ = strings.Cut(full, "/")
	return owner, name
}
