package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders check output as GitHub does: GitHub Flavored Markdown
// (tables, strikethrough, autolinks, task lists: extension.GFM's set). goldmark's HTML renderer
// is left in its safe mode, so raw HTML in the text is dropped and links
// with dangerous schemes (javascript:) are not rendered: check text can hold
// words from a pull request, and the dashboard shows it to approvers.
//
// Table alignment is written as the align attribute, not a style attribute,
// which the pages' Content-Security-Policy (style-src 'self') would drop.
var markdown = goldmark.New(goldmark.WithExtensions(extension.Linkify,
	extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
	extension.Strikethrough, extension.TaskList))

// renderMarkdown renders src; on error the text is shown escaped.
func renderMarkdown(src string) template.HTML {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(src), &b); err != nil {
		return template.HTML("<pre>" + template.HTMLEscapeString(src) + "</pre>")
	}
	return template.HTML(b.String()) // #nosec: goldmark's safe mode escapes raw HTML
}

// renderInline renders one line of markdown (a stage's summary or finding)
// without the paragraph around it, for a table cell or a list item.
func renderInline(src string) template.HTML {
	h := string(renderMarkdown(src))
	if inner, ok := strings.CutPrefix(strings.TrimSuffix(h, "\n"), "<p>"); ok && strings.HasSuffix(inner, "</p>") && !strings.Contains(inner, "<p>") {
		return template.HTML(strings.TrimSuffix(inner, "</p>")) // #nosec: rendered by goldmark's safe mode
	}
	return template.HTML(h)
}

type renderer struct {
	pages map[string]*template.Template
}

var pageNames = []string{"overview", "pull", "artifact", "audit"}

func newRenderer() (*renderer, error) {
	funcs := template.FuncMap{
		"markdown":   renderMarkdown,
		"short":      short,
		"words":      words,
		"when":       func(t time.Time) string { return when(t) },
		"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"pullURL":    func(repo string, n int, artifact string) string { return links.Pull(repo, n, artifact) },
		"artURL":     func(repo, name string) string { return links.Artifact(repo, name) },
		"auditURL":   func(repo string) string { return links.Audit(repo) },
		"join":       strings.Join,
		"add":        func(a, b int) int { return a + b },
		"stateClass": stateClass,
	}
	r := &renderer{pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// render executes page into a buffer first, so a template error never
// leaves half a page behind.
func (r *renderer) render(w http.ResponseWriter, name string, data any) error {
	var b bytes.Buffer
	if err := r.pages[name].Execute(&b, data); err != nil {
		http.Error(w, "The page could not be drawn; ask the operators to look at Conveyor's log.", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := b.WriteTo(w)
	return err
}

// short is a SHA's first seven characters; anything else (a version) is
// kept.
func short(s string) string {
	if len(s) == 40 && strings.Trim(s, "0123456789abcdef") == "" {
		return s[:7]
	}
	return s
}

// stateClass is the CSS class of a state or result: ok, bad, busy or quiet.
func stateClass(s string) string {
	switch s {
	case "succeeded", "success", "pass":
		return "ok"
	case "failed", "failure", "rolled_back", "rollback_failed", "rejected", "expired", "fail", "error":
		return "bad"
	case "in_progress", "queued", "awaiting_approval", "wait", "rolling_back":
		return "busy"
	}
	return "quiet"
}

// words turns a state identifier into words ("awaiting_approval" ->
// "awaiting approval").
func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// when is a time as people read it on the page: the UTC date and time (the
// <time> element carries the exact instant).
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// age is how long ago t was, roughly.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
