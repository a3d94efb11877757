# The decision document Go reads, and the helpers every rule file shares.
# Rules add reasons to deny and warn, and groups to approval_group; this file
# assembles them into data.conveyor.decision.
package conveyor

# decision is the single document the evaluator queries.
decision := {
	"allow": count(deny) == 0,
	"deny": sort(deny),
	"warn": sort(warn),
	"approvals_required": approvals_required,
}

approvals_required := {"count": 0, "from": [], "groups": []} if {
	count(approval_group) == 0
} else := {
	"count": sum([g.count | some g in approval_group]),
	"from": sort({t | some g in approval_group; some t in g.from}),
	"groups": sort(approval_group),
}

known_actions := {"check", "deploy", "approve", "rollback", "lock"}

default action := ""

action := input.action

deny contains msg if {
	not known_actions[action]
	msg := sprintf("action %q is not one of check, deploy, approve, rollback, lock", [action])
}

# conf is the server configuration (teams and quotas, pricing, policies).
default conf := {}

conf := data.conveyor.config

# Go always sends every field; the defaults keep partial inputs (Rego tests,
# `conveyor policy eval` documents) readable. Rules read input fields directly
# where a missing field already means "nothing to check".
default env_name := ""

env_name := input.environment.name

default env_config := {}

env_config := input.environment.config

production if env_name == "production"

default head_sha := ""

head_sha := input.pull_request.head_sha

short_sha := substring(head_sha, 0, 7)

# team_name turns an owner or approver entry ("@acme/sre") into the form
# GitHub reports team membership in ("acme/sre").
team_name(t) := trim_prefix(t, "@")

actor_teams := {trim_prefix(t, "@") | some t in input.actor.teams}

permission_rank := {"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

default actor_rank := 0

actor_rank := permission_rank[input.actor.permission]

default actor_login := ""

actor_login := input.actor.login

default actor_permission := "no"

actor_permission := p if {
	p := input.actor.permission
	p != ""
}

# needs_approvals is true for the actions that carry approval requirements.
needs_approvals if input.action == "deploy"

needs_approvals if input.action == "approve"

# or_list renders ["a", "b", "c"] as "a, b or c".
or_list(xs) := xs[0] if count(xs) == 1

or_list(xs) := sprintf("%s or %s", [concat(", ", array.slice(xs, 0, count(xs) - 1)), xs[count(xs) - 1]]) if count(xs) > 1

# money renders a dollar amount with two decimals whether Rego holds it as an
# integer or a float.
money(x) := sprintf("%s%d.%02d", [sign, floor(c / 100), c % 100]) if {
	c := round(abs(x) * 100)
	sign := money_sign(x)
}

money_sign(x) := "-" if { x < 0 } else := ""

default repository := ""

repository := input.repository
