# Promotion order: every environment an environment requires (for example
# staging before production) must have succeeded at the same head SHA first.
package conveyor

succeeded_at_head(env) if {
	head_sha != ""
	d := input.deployments[env]
	d.state == "succeeded"
	d.sha == head_sha
}

deny contains msg if {
	input.action == "deploy"
	some env in input.environment.config.requires
	not succeeded_at_head(env)
	msg := requires_message(env)
}

requires_message(env) := sprintf("%s requires a successful deployment of %s to %s first; run /deploy %s", [env_name, short_sha, env, env]) if {
	head_sha != ""
} else := sprintf("%s requires a successful deployment to %s first, and this request names no pull request head SHA to compare", [env_name, env])
