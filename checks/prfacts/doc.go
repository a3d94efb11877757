// Package prfacts is the one reader of a pull request's facts: for a
// (repository, pull request, head SHA) it answers the governing config (the
// base branch's), the artifact definitions after the governance rule
// (repoconfig.Govern), the changed files, the touched artifacts and the
// commits. The check engine, the slash commands and the Slack approvals all
// ask it, so they cannot disagree about what governs a pull request, and
// SHA-addressed answers are cached once for all of them.
//
// It reads GitHub and parses configuration; it decides nothing about whether
// a change may ship (that is the checks engine's and the policy's job) and
// writes nothing.
package prfacts
