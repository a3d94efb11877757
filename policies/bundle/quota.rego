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
	t := team_name(o)
	contains(t, "/")
}

artifact_teams(a) := {t | some o in object.get(a, "owners", []); t := owner_team(o)}

# quota_limits holds, for each team owning a candidate, its limits in this
# environment; teams without a quota here are not counted at all.
quota_limits[team] := limits if {
	some a in input.artifacts
	some team in artifact_teams(a)
	limits := conf.teams[team].quota[env_name]
}

# artifact_total is the per-replica request times the replicas (0 counts as 1).
artifact_total(a, key) := object.get(a, ["resources", key], 0) * max([object.get(a, ["resources", "replicas"], 1), 1])

# quota_requests[team][key] is what the team's candidates ask for in total.
quota_requests[team] := {key: sum([artifact_total(a, key) | some a in input.artifacts; team in artifact_teams(a)]) |
	some key, _ in quota_units
} if {
	some team, _ in quota_limits
}

deny contains msg if {
	input.action in {"check", "deploy"}
	some team, limits in quota_limits
	some key, unit in quota_units
	limit := object.get(limits, key, 0)
	limit > 0
	running := object.get(input, ["usage", team, env_name, key], 0)
	asked := quota_requests[team][key]
	running + asked > limit
	msg := sprintf("team %s would use %v %s in %s (%v running + %v requested), above its quota of %v; lower the request or ask for a larger quota", [team, running + asked, unit, env_name, running, asked, limit])
}
