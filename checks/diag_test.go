package checks

import (
	"fmt"
	"testing"
)

// dumpJobs logs the river jobs, to diagnose a test that did not settle.
func dumpJobs(t *testing.T, e *ghEnv) {
	rows, err := e.st.DB.Query(`SELECT id, state, attempt, errors, args FROM river_job`)
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, attempt int64
		var state, args string
		var errs any
		rows.Scan(&id, &state, &attempt, &errs, &args)
		t.Log(id, state, attempt, fmt.Sprintf("%s", errs), args)
	}
}

// dumpResults logs the stored heads, results and CI, for the same reason.
func dumpResults(t *testing.T, e *ghEnv) {
	rows, err := e.st.DB.Query(`SELECT repository, sha, name, artifact, ci_names, status FROM check_results`)
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var a, b, c, d, f, g string
		rows.Scan(&a, &b, &c, &d, &f, &g)
		t.Log(a, b, c, d, f, g)
	}
	rows2, _ := e.st.DB.Query(`SELECT repository, sha, pr FROM check_heads`)
	for rows2.Next() {
		var a, b string
		var n int
		rows2.Scan(&a, &b, &n)
		t.Log("head", a, b, n)
	}
	rows2.Close()
	rows3, _ := e.st.DB.Query(`SELECT sha, name, status, conclusion FROM check_ci`)
	for rows3.Next() {
		var a, b, c, d string
		rows3.Scan(&a, &b, &c, &d)
		t.Log("ci", a, b, c, d)
	}
	rows3.Close()
}
