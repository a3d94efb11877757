# Who may act: write permission to deploy, roll back or lock anywhere;
# production also needs maintain (or admin) or membership in one of the teams
# the environment takes approvals from.
package conveyor

privileged_actions := {"deploy", "rollback", "lock"}

action_verb := {"deploy": "deploying", "rollback": "rolling back", "lock": "locking an environment"}

env_approval_teams := [trim_prefix(t, "@") | some t in input.environment.config.approvals.from]

actor_in_env_teams if {
	some t in env_approval_teams
	actor_teams[t]
}

deny contains msg if {
	privileged_actions[input.action]
	actor_rank < permission_rank.write
	msg := sprintf("@%s has %s permission on %s; %s needs write", [actor_login, actor_permission, repository, action_verb[input.action]])
}

deny contains msg if {
	privileged_actions[input.action]
	production
	actor_rank == permission_rank.write
	not actor_in_env_teams
	msg := production_permission_message
}

production_permission_message := sprintf("@%s has write permission; %s needs maintain or membership in %s", [actor_login, env_name, or_list(env_approval_teams)]) if {
	count(env_approval_teams) > 0
} else := sprintf("@%s has write permission; %s needs maintain", [actor_login, env_name])
