package slackfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// request is a Web API call's arguments, from a form or a JSON body.
type request struct {
	auth string
	body []byte
	form url.Values
	json map[string]json.RawMessage
}

// parseRequest reads form-encoded or JSON arguments; slack-go sends forms for
// chat.* and users.*, JSON for views.*.
func parseRequest(r *http.Request) (*request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	req := &request{auth: r.Header.Get("Authorization"), body: body, form: url.Values{}}
	if err != nil {
		return req, err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(bytes.TrimSpace(body)) == 0 {
			return req, nil
		}
		return req, json.Unmarshal(body, &req.json)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return req, err
	}
	for k, v := range r.URL.Query() {
		form[k] = append(form[k], v...)
	}
	req.form = form
	return req, nil
}

// token is the bearer token from the header, else the "token" argument.
func (q *request) token() string {
	if tok, ok := strings.CutPrefix(q.auth, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return q.get("token")
}

// get returns a string argument ("" when absent).
func (q *request) get(key string) string {
	if v := q.form.Get(key); v != "" {
		return v
	}
	raw, ok := q.json[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// raw returns an argument holding JSON (blocks, view): a form field's text or
// a JSON body's value, also when the JSON body carries it as a string.
func (q *request) raw(key string) []byte {
	if v := q.form.Get(key); v != "" {
		return []byte(v)
	}
	raw, ok := q.json[key]
	if !ok {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}

// params flattens the arguments for the call log, without the token.
func (q *request) params() url.Values {
	out := url.Values{}
	for k, v := range q.form {
		if k != "token" {
			out[k] = append([]string(nil), v...)
		}
	}
	for k := range q.json {
		if k != "token" {
			out.Set(k, q.get(k))
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(raw)
}
