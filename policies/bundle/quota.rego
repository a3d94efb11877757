# Team quotas per environment, from the server config
# (teams[team].quota[environment] = {cpu, memory_gib, gpu}): what the team runs
# there now (input.usage, not counting this PR) plus what the candidates owned
# by the team ask for must stay within each limit. A limit of 0 is no limit,
# because an omitted key in the server config reads as 0.
package conveyor

quota_units := {"cpu": "CPU", "memory_gib": "GiB of memory", "gpu": "GPU"}

# owner_team maps an owner entry to a team; "@acme/ml" is team "acme/ml",
# "@octocat" is a user and has no quota.
owner_team(o) := t if {
	t := trim_prefix(o, "@")
	contains(t, "/")
}

# quota_candidates[team] holds [index, resources, replicas] for each candidate
# the team owns: a set, so an artifact naming its team twice counts once.
quota_candidates := {team: cands |
	some a in input.artifacts
	some o in a.owners
	team := owner_team(o)
	cands := {[i, r, replica_count(r)] |
		some i, b in input.artifacts
		some p in b.owners
		trim_prefix(p, "@") == team
		r := object.get(b, "resources", {})
	}
}

# replica_count is the artifact's replicas; a missing or zero count is 1.
replica_count(r) := n if {
	n := r.replicas
	n >= 1
} else := 1

# A team's request is the per-replica request times the replicas, summed over
# its candidates; what it runs now comes from input.usage (missing is 0).
# Teams without a quota in this environment are not counted at all.
deny contains msg if {
	quota_actions[input.action]
	some team, asked in quota_requests
	limits := conf.teams[team].quota[env_name]
	usage := object.get(input.usage, [team, env_name], {})
	some key, limit in limits
	limit > 0
	running := object.get(usage, key, 0)
	running + object.get(asked, key, 0) > limit
	msg := sprintf("team %s would use %v %s in %s (%v running + %v requested), above its quota of %v; lower the request or ask for a larger quota", [team, running + asked[key], quota_units[key], env_name, running, asked[key], limit])
}

# quota_requests is, per team owning a candidate, what the candidates it owns
# ask for in this environment ({cpu, memory_gib, gpu}: per replica times
# replicas, summed). Conveyor sends it as input.requested, worked out in Go
# from the artifacts above like input.usage (policies.TeamUsage over the
# candidates); an input without it (a Rego test, a hand-written `policy eval`
# document) is summed here the same way.
quota_requests := input.requested if {
	is_object(input.requested)
} else := {team: asked |
	some team, cands in quota_candidates
	asked := {key: total |
		some key in ["cpu", "memory_gib", "gpu"]
		total := sum([x | some c in cands; x := object.get(c[1], key, 0) * c[2]])
	}
}

quota_actions := {"check", "deploy"}
