package driver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/conveyor-dev/conveyor/internal/serverconfig"
)

// prometheusSource answers PromQL instant queries (/api/v1/query) through
// the official client.
type prometheusSource struct {
	cfg     serverconfig.PrometheusSource
	timeout time.Duration
	deps    Deps
}

func newPrometheusSource(cfg serverconfig.PrometheusSource, timeout time.Duration, deps Deps) *prometheusSource {
	return &prometheusSource{cfg: cfg, timeout: timeout, deps: deps}
}

func (s *prometheusSource) name() string { return "prometheus" }

// value runs q as an instant query now. It must come out as one number: a
// scalar or a vector of exactly one sample (aggregate with sum, max, ...).
func (s *prometheusSource) value(ctx context.Context, q string) (float64, error) {
	hc := *s.deps.HTTP
	if s.cfg.TokenEnv != "" {
		token := s.deps.Env(s.cfg.TokenEnv)
		if token == "" {
			return 0, fmt.Errorf("%s is empty; set it to the Prometheus token or remove token_env", s.cfg.TokenEnv)
		}
		hc.Transport = bearer{token: token, base: hc.Transport}
	}
	c, err := api.NewClient(api.Config{Address: s.cfg.URL, Client: &hc})
	if err != nil {
		return 0, fmt.Errorf("prometheus url %q: %v", s.cfg.URL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, _, _, err := promv1.NewAPI(c).Query(ctx, q, time.Now(), promv1.WithTimeout(s.timeout))
	if err != nil {
		var perr *promv1.Error
		if errors.As(err, &perr) {
			return 0, fmt.Errorf("prometheus refused the query (%s): %s", perr.Type, perr.Msg)
		}
		return 0, fmt.Errorf("prometheus at %s did not answer within %s: %v", s.cfg.URL, s.timeout, unwrapURLError(err))
	}
	switch v := v.(type) {
	case *model.Scalar:
		return float64(v.Value), nil
	case model.Vector:
		switch len(v) {
		case 0:
			return 0, errors.New("no data (the query matched no series; is the metric scraped and are the labels right?)")
		case 1:
			return float64(v[0].Value), nil
		}
		return 0, fmt.Errorf("%d series, want one number (aggregate it, for example with sum or max)", len(v))
	}
	return 0, fmt.Errorf("a %s result, want a scalar or an instant vector of one sample", v.Type())
}

// substitute puts t's values into q as PromQL string contents. PromQL
// string literals are unquoted by Go's rules (promql/parser's
// unquoteString calls util/strutil.Unquote, a copy of strconv.Unquote), so
// strconv.Quote's escaping inside the double quotes Rules require keeps a
// value a value: it cannot close the string or add a matcher.
func (s *prometheusSource) substitute(q string, t Target) (string, error) {
	vals := placeholderValues(t)
	pairs := make([]string, 0, 2*len(vals))
	for _, p := range placeholders {
		quoted := strconv.Quote(vals[p])
		pairs = append(pairs, p, quoted[1:len(quoted)-1])
	}
	return strings.NewReplacer(pairs...).Replace(q), nil
}

// checkPromQLPlaceholders refuses a placeholder outside a double-quoted
// string literal, where escaping could not keep its value from becoming
// PromQL (a label name, a function, an operator).
func checkPromQLPlaceholders(q string) error {
	inString := false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case inString && c == '\\':
			i++ // the escaped character cannot end the string
		case c == '"':
			inString = !inString
		case c == '{' && !inString:
			for _, p := range placeholders {
				if strings.HasPrefix(q[i:], p) {
					return fmt.Errorf("%s must sit inside a double-quoted label value, for example job=\"%s\"", p, p)
				}
			}
		}
	}
	if inString {
		return errors.New("a double-quoted string is not closed")
	}
	return nil
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	base := b.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
