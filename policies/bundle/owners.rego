# Ownership: every artifact should name its owners, so someone answers for it
# and its quota is counted against a team. A check warns about artifacts
# without owners.
package conveyor

warn contains msg if {
	input.action == "check"
	some a in input.artifacts
	count(object.get(a, "owners", [])) == 0
	msg := sprintf("%s has no owners; add owners: [\"@org/team\"] to it in .github/conveyor.yml", [a.name])
}
