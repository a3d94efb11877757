package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conveyor-dev/conveyor/internal/store"
)

type auditPage struct {
	chrome
	Query   auditQuery
	Repos   []string
	Events  []store.AuditEvent
	Limited bool   // more matched than the page shows
	Problem string // a filter that could not be read
	CSV     string
	JSON    string
}

// auditQuery is the audit page's filters, as written in its URL.
type auditQuery struct {
	Repo, PR, Actor, Action, Outcome, Since, Until string
}

const auditPageSize = 200

func (s *Server) audit(w http.ResponseWriter, r *http.Request, v viewer) {
	q := r.URL.Query()
	aq := auditQuery{Repo: q.Get("repo"), PR: q.Get("pr"), Actor: strings.TrimPrefix(q.Get("actor"), "@"), Action: q.Get("action"),
		Outcome: q.Get("outcome"), Since: q.Get("since"), Until: q.Get("until")}
	readable, err := s.readable(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	search, problem := aq.search(readable)
	format := q.Get("format")
	if problem != "" && format != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	switch format {
	case "":
	case "csv", "json":
		search.Limit = 10000
	default:
		http.Error(w, "format must be csv or json", http.StatusBadRequest)
		return
	}
	var events []store.AuditEvent
	if problem == "" {
		if format == "" {
			search.Limit = auditPageSize + 1
		}
		events, err = store.SearchAudit(r.Context(), s.o.Store.DB, search)
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	switch format {
	case "csv":
		writeAuditCSV(w, events)
		return
	case "json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="conveyor-audit.json"`)
		if events == nil {
			events = []store.AuditEvent{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(events)
		return
	}
	p := &auditPage{Query: aq, Repos: readable, Problem: problem}
	if len(events) > auditPageSize {
		events, p.Limited = events[:auditPageSize], true
	}
	p.Events = events
	exp := r.URL.Query()
	exp.Set("format", "csv")
	p.CSV = "/audit?" + exp.Encode()
	exp.Set("format", "json")
	p.JSON = "/audit?" + exp.Encode()
	p.chrome = s.chrome(r, v, "Audit log", "audit")
	s.render(w, r, "audit", p)
}

// search turns the page's filters into a store search within readable; a
// repository the viewer may not read matches nothing, as if it had no
// events.
func (aq auditQuery) search(readable []string) (store.AuditSearch, string) {
	s := store.AuditSearch{Repos: readable, Repository: aq.Repo, Actor: aq.Actor, Action: aq.Action, Outcome: aq.Outcome}
	if aq.Repo != "" && !slices.Contains(readable, aq.Repo) {
		s.Repos = nil
	}
	if aq.PR != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(aq.PR, "#"))
		if err != nil || n <= 0 {
			return s, "pr: " + strconv.Quote(aq.PR) + " is not a pull request number; write 12"
		}
		s.PR = n
	}
	var err error
	if s.Since, err = parseWhen(aq.Since); err != nil {
		return s, "since: " + err.Error()
	}
	if s.Until, err = parseWhen(aq.Until); err != nil {
		return s, "until: " + err.Error()
	}
	return s, ""
}

// parseWhen reads a time filter: RFC 3339, or a date (UTC midnight).
func parseWhen(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04", v); err == nil { // <input type=datetime-local>
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, &timeError{v}
}

type timeError struct{ v string }

func (e *timeError) Error() string {
	return strconv.Quote(e.v) + " is not a time; write 2026-03-01 or 2026-03-01T15:04:05Z"
}

// auditColumns are the CSV export's columns, one per AuditEvent field.
var auditColumns = []string{"id", "at", "kind", "repository", "pr", "environment", "artifacts", "actor", "subject", "action", "outcome", "digest", "revision", "detail"}

func writeAuditCSV(w http.ResponseWriter, events []store.AuditEvent) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="conveyor-audit.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(auditColumns)
	for _, e := range events {
		pr := ""
		if e.PR != 0 {
			pr = strconv.Itoa(e.PR)
		}
		_ = cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), e.Kind, e.Repository, pr, e.Environment,
			strings.Join(e.Artifacts, " "), csvSafe(e.Actor), csvSafe(e.Subject), e.Action, e.Outcome, e.Digest, e.Revision, csvSafe(string(e.Detail))})
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (OWASP's
// advice on CSV injection): a leading =, +, - or @ is quoted with '.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
