package commands

import (
	"testing"
	"time"
)

func TestActorFactsAreCachedAndDropped(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPermission(testRepo, "dev", "write")
	e.gh.AddTeamMember("acme", "web", "dev")
	pr := e.openPR("feature", "dev", webChange())
	perm := "/repos/acme/shop/collaborators/dev/permission"
	team := "/orgs/acme/teams/sre/memberships/dev"
	count := func(prefix string) int { return len(e.gh.CallsMatching("GET", prefix)) }

	e.comment(pr, "dev", "/plan production")
	e.comment(pr, "dev", "/plan production")
	if count(perm) != 1 || count(team) != 1 {
		t.Fatalf("two commands cost %d permission and %d membership calls, want 1 each", count(perm), count(team))
	}

	// dev joins acme/sre: the membership event drops the cached facts.
	e.send("membership", e.gh.MembershipEvent("added", "acme", "sre", "dev"))
	e.comment(pr, "dev", "/plan production")
	if count(perm) != 2 || count(team) != 2 {
		t.Fatalf("after a membership event: %d permission and %d membership calls, want 2 each", count(perm), count(team))
	}
	last := e.replies(pr)[2]
	mustContain(t, last, "production requires a successful deployment") // no permission denial any more
	if contains(last, "needs maintain or membership") {
		t.Fatalf("dev joined acme/sre but the decision still uses the old facts:\n%s", last)
	}

	// The facts expire after the TTL.
	e.clock.Set(e.clock.Now().Add(DefaultFactsTTL + time.Second))
	e.comment(pr, "dev", "/plan production")
	if count(perm) != 3 {
		t.Fatalf("after the TTL: %d permission calls, want 3", count(perm))
	}

	// A member event (collaborator changed) drops them too.
	e.send("member", map[string]any{"action": "edited", "member": map[string]any{"login": "dev"}, "installation": map[string]any{"id": testInst}})
	e.comment(pr, "dev", "/plan production")
	if count(perm) != 4 {
		t.Fatalf("after a member event: %d permission calls, want 4", count(perm))
	}
}

func TestRelevantTeams(t *testing.T) {
	got := relevantTeams([]string{"@acme/sre", "octocat"}, []string{"acme/SRE", "acme/ml", ""}, []string{"acme/finance"})
	want := "acme/finance,acme/ml,acme/sre"
	if s := join(got); s != want {
		t.Fatalf("relevantTeams = %s, want %s (users and duplicates left out)", s, want)
	}
}

// forget drops one login's facts in one installation (or the whole
// installation), nothing else; expired entries read as missing.
func TestFactCacheForgetAndExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newFactCache(time.Minute, func() time.Time { return now })
	c.put(c.perms, factKey{1, "acme/shop", "dev"}, "write")
	c.put(c.perms, factKey{1, "acme/shop", "ops"}, "admin")
	c.put(c.teams, factKey{1, "acme/sre", "dev"}, "member")
	c.put(c.perms, factKey{2, "acme/shop", "dev"}, "read")
	c.forget(1, "DEV")
	if _, ok := c.get(c.perms, factKey{1, "acme/shop", "dev"}); ok {
		t.Error("dev's permission in installation 1 survived forget")
	}
	if _, ok := c.get(c.teams, factKey{1, "acme/sre", "dev"}); ok {
		t.Error("dev's membership in installation 1 survived forget")
	}
	if v, ok := c.get(c.perms, factKey{1, "acme/shop", "ops"}); !ok || v != "admin" {
		t.Errorf("ops's permission = %q, %v; forget dropped another login", v, ok)
	}
	if v, ok := c.get(c.perms, factKey{2, "acme/shop", "dev"}); !ok || v != "read" {
		t.Errorf("installation 2 = %q, %v; forget dropped another installation", v, ok)
	}
	now = now.Add(time.Minute)
	if _, ok := c.get(c.perms, factKey{1, "acme/shop", "ops"}); ok {
		t.Error("an entry outlived its TTL")
	}
	c.forget(2, "")
	if _, ok := c.get(c.perms, factKey{2, "acme/shop", "dev"}); ok {
		t.Error("forget(installation, \"\") kept an entry")
	}
}
