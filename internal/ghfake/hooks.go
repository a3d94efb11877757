package ghfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Delivery is one webhook delivery attempt, as GitHub's hook deliveries API reports it.
type Delivery struct {
	ID              int64
	GUID            string
	Event           string
	Action          string
	InstallationID  int64
	RepositoryID    int64
	Redelivery      bool
	StatusCode      int // 0 when the hook URL could not be reached
	Status          string
	DeliveredAt     time.Time
	Duration        time.Duration
	RequestHeaders  map[string]string
	Payload         json.RawMessage
	ResponseHeaders map[string]string
	ResponseBody    string
}

// Deliveries returns every webhook delivery attempt, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, 0, len(s.deliveries))
	for _, d := range s.deliveries {
		out = append(out, *d)
	}
	return out
}

// Send delivers a webhook to the hook URL the way GitHub does (signed with
// X-Hub-Signature-256, X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID) and records the
// delivery. A refused connection or non-2xx answer is recorded as failed and also returned
// as an error; status is the receiver's HTTP status (0 if unreachable).
func (s *Server) Send(event string, payload any) (deliveryID string, status int, err error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", 0, fmt.Errorf("ghfake: encode %s payload: %w", event, err)
	}
	d := s.deliver(event, newGUID(), body, false)
	return d.GUID, d.StatusCode, deliveryErr(d)
}

func deliveryErr(d *Delivery) error {
	if d.StatusCode >= 200 && d.StatusCode < 300 {
		return nil
	}
	return fmt.Errorf("ghfake: webhook %s %s: %s", d.Event, d.GUID, d.Status)
}

// deliver POSTs body to the hook URL and records the attempt; it must be called without s.mu.
func (s *Server) deliver(event, guid string, body []byte, redelivery bool) *Delivery {
	var meta struct {
		Action       string `json:"action"`
		Installation struct {
			ID int64 `json:"id"`
		} `json:"installation"`
		Repository struct {
			ID int64 `json:"id"`
		} `json:"repository"`
	}
	_ = json.Unmarshal(body, &meta)
	s.mu.Lock()
	hookURL, secret, hookID := s.hookURL, s.webhookSecret, s.hookID
	d := &Delivery{ID: s.newID(), GUID: guid, Event: event, Action: meta.Action,
		InstallationID: meta.Installation.ID, RepositoryID: meta.Repository.ID, Redelivery: redelivery,
		Payload: json.RawMessage(body)}
	s.mu.Unlock()

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	headers := map[string]string{
		"Accept":                                 "*/*",
		"Content-Type":                           "application/json",
		"User-Agent":                             "GitHub-Hookshot/ghfake",
		"X-GitHub-Event":                         event,
		"X-GitHub-Delivery":                      guid,
		"X-GitHub-Hook-ID":                       strconv.FormatInt(hookID, 10),
		"X-GitHub-Hook-Installation-Target-ID":   strconv.FormatInt(s.appID, 10),
		"X-GitHub-Hook-Installation-Target-Type": "integration",
		"X-Hub-Signature-256":                    "sha256=" + hex.EncodeToString(mac.Sum(nil)),
	}
	d.RequestHeaders = headers
	start := time.Now()
	d.DeliveredAt = start.UTC().Truncate(time.Second)
	switch {
	case hookURL == "":
		d.Status = "failed to connect to host: no hook URL set (call SetHookURL)"
	default:
		req, err := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
		if err != nil {
			d.Status = "invalid hook URL"
			break
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := s.hookCli.Do(req)
		if err != nil {
			d.Status = "failed to connect to host"
			break
		}
		respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		d.StatusCode = resp.StatusCode
		d.ResponseBody = string(respBody)
		d.ResponseHeaders = map[string]string{}
		for k := range resp.Header {
			d.ResponseHeaders[k] = resp.Header.Get(k)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			d.Status = "OK"
		} else {
			d.Status = fmt.Sprintf("Invalid HTTP Response: %d", resp.StatusCode)
		}
	}
	d.Duration = time.Since(start)
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d
}

func (s *Server) deliveryJSON(d *Delivery, full bool) map[string]any {
	out := map[string]any{
		"id": d.ID, "guid": d.GUID, "delivered_at": ts(d.DeliveredAt), "redelivery": d.Redelivery,
		"duration": d.Duration.Seconds(), "status": d.Status, "status_code": d.StatusCode,
		"event": d.Event, "action": nilIfEmpty(d.Action), "installation_id": d.InstallationID,
		"repository_id": d.RepositoryID,
	}
	if full {
		out["url"] = s.ts.URL + "/app/hook/deliveries/" + strconv.FormatInt(d.ID, 10)
		out["request"] = map[string]any{"headers": d.RequestHeaders, "payload": d.Payload}
		out["response"] = map[string]any{"headers": d.ResponseHeaders, "payload": d.ResponseBody}
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// handleListDeliveries is GET /app/hook/deliveries with cursor pagination, newest first.
func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	var before int64 = -1
	if c := q.Get("cursor"); c != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(c, "v1_"), 10, 64)
		if err != nil {
			writeValidation(w, "Invalid cursor "+strconv.Quote(c)+"; pass the cursor from the Link header unchanged")
			return
		}
		before = id
	}
	status := q.Get("status")
	s.mu.Lock()
	var page []any
	more := false
	var last int64
	for i := len(s.deliveries) - 1; i >= 0; i-- {
		d := s.deliveries[i]
		ok := d.StatusCode >= 200 && d.StatusCode < 300
		if (before >= 0 && d.ID >= before) || (status == "success" && !ok) || (status == "failure" && ok) {
			continue
		}
		if len(page) == per {
			more = true
			break
		}
		page = append(page, s.deliveryJSON(d, false))
		last = d.ID
	}
	s.mu.Unlock()
	if more {
		q2 := r.URL.Query()
		q2.Set("cursor", "v1_"+strconv.FormatInt(last, 10))
		q2.Set("per_page", strconv.Itoa(per))
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, s.apiURL(r, r.URL.Path), q2.Encode()))
	}
	if page == nil {
		page = []any{}
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) deliveryByID(idText string) *Delivery {
	id, _ := strconv.ParseInt(idText, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deliveries {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (s *Server) handleGetDelivery(w http.ResponseWriter, r *http.Request) {
	d := s.deliveryByID(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.deliveryJSON(d, true))
}

// handleRedeliver is POST /app/hook/deliveries/{id}/attempts: the same payload and GUID again.
func (s *Server) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	d := s.deliveryByID(r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.deliver(d.Event, d.GUID, d.Payload, true)
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

// Redeliver re-sends a recorded delivery (by GUID) as GitHub's "Redeliver" button does.
func (s *Server) Redeliver(guid string) (int, error) {
	s.mu.Lock()
	var orig *Delivery
	for _, d := range s.deliveries {
		if d.GUID == guid {
			orig = d
			break
		}
	}
	s.mu.Unlock()
	if orig == nil {
		return 0, errors.New("ghfake: no delivery with GUID " + guid)
	}
	d := s.deliver(orig.Event, orig.GUID, orig.Payload, true)
	return d.StatusCode, deliveryErr(d)
}
