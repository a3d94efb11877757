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

# quota_limits holds, for each team owning a candidate, its limits in this
# environment; teams without a quota here are not counted at all. The config
# lookup comes first, so an owner without a quota costs one lookup.
quota_limits[team] := limits if {
	some a in input.artifacts
	some o in a.owners
	team := trim_prefix(o, "@")
	limits := conf.teams[team].quota[env_name]
	contains(team, "/")
}

# quota_candidates[team] holds [index, resources, replicas] for each candidate
# the team owns: a set, so an artifact naming its team twice counts once.
quota_candidates := {team: cands |
	some team, _ in quota_limits
	cands := {[i, r, replica_count(r)] |
		some i, a in input.artifacts
		some o in a.owners
		trim_prefix(o, "@") == team
		r := object.get(a, "resources", {})
	}
}

# replica_count is the artifact's replicas; a missing or zero count is 1.
replica_count(r) := n if {
	n := r.replicas
	n >= 1
} else := 1

# A team's request is the per-replica request times the replicas, summed over
# its candidates; what it runs now comes from input.usage (missing is 0).
#
# The rule builds each team's candidates as quota_candidates[team] holds them
# (the same set, summed in the same order) rather than reading that document,
# and leaves the message to quota_message: every value a rule body binds costs
# time on every decision, and most decisions are within quota.
deny contains msg if {
	input.action in {"check", "deploy"} # quota_actions
	some team, limits in quota_limits
	cands := {[i, r, replica_count(r)] |
		some i, a in input.artifacts
		some o in a.owners
		trim_prefix(o, "@") == team
		r := object.get(a, "resources", {})
	}
	usage := object.get(input.usage, [team, env_name], {})
	some key, limit in limits
	limit > 0
	object.get(usage, key, 0) + sum([x | some c in cands; x := c[1][key] * c[2]]) > limit
	msg := quota_message(team, key, limit, cands)
}

# quota_message is the denial for a team whose candidates take key above its
# limit.
quota_message(team, key, limit, cands) := sprintf("team %s would use %v %s in %s (%v running + %v requested), above its quota of %v; lower the request or ask for a larger quota", [team, running + asked, unit, env_name, running, asked, limit]) if {
	unit := quota_units[key]
	asked := sum([x | some c in cands; x := c[1][key] * c[2]])
	running := object.get(object.get(input.usage, [team, env_name], {}), key, 0)
}

quota_actions := {"check", "deploy"}
