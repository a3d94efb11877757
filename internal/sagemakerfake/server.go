// Package sagemakerfake emulates the SageMaker control-plane operations
// Conveyor's sagemaker driver calls, on SageMaker's real wire protocol:
// AWS JSON 1.1 (POST /, Content-Type application/x-amz-json-1.1,
// X-Amz-Target: SageMaker.<Operation>) with Signature Version 4 requests.
//
// It is strict the way SageMaker is: an unsigned request is refused with
// MissingAuthenticationTokenException, a request whose signature does not
// match the secret key with InvalidSignatureException (the signature is
// recomputed, not just its shape checked), an unknown operation with
// UnknownOperationException, and a missing resource or a call in the wrong
// endpoint state with ValidationException and SageMaker's message. Errors
// carry __type and message in the body and X-Amzn-ErrorType in a header,
// as JSON 1.1 services send them
// (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html).
//
// Endpoints move Creating/Updating -> InService after a set number of
// DescribeEndpoint calls, so tests wait on the driver's polling, not on
// time. Faults: throttling, an endpoint stuck Updating, a failed update.
// It owns no product logic and is for tests and the demo only.
package sagemakerfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/conveyor-dev/conveyor/internal/fakeapi"
)

// Region and Account are the emulator's; ARNs are built from them.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Call is one request the emulator received.
type Call struct {
	Op     string          // the operation, e.g. UpdateEndpoint
	Body   json.RawMessage // the request body
	Status int
	Error  string // the __type of an error answer
}

// Fault is an injected failure for the next requests to an operation.
type Fault struct {
	Op      string // the operation it applies to ("" for any)
	Type    string // __type, e.g. ThrottlingException
	Message string
	Status  int
}

// Throttle is SageMaker's answer to a caller over its request rate.
var Throttle = Fault{Type: "ThrottlingException", Message: "Rate exceeded", Status: http.StatusBadRequest}

// Server is a running emulator.
type Server struct {
	srv       *httptest.Server
	accessKey string
	secretKey string
	log       fakeapi.Log[Call]
	faults    fakeapi.Faults[Fault]
	mu        sync.Mutex
	state     state
}

// New starts an emulator that accepts requests signed with the given key
// pair for Region.
func New(accessKey, secretKey string) *Server {
	s := &Server{accessKey: accessKey, secretKey: secretKey, state: newState()}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint URL to give the SDK (BaseEndpoint).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the emulator.
func (s *Server) Close() { s.srv.Close() }

// Calls returns the requests received, oldest first.
func (s *Server) Calls() []Call { return s.log.Calls() }

// Ops returns the operations received, oldest first.
func (s *Server) Ops() []string {
	var out []string
	for _, c := range s.log.Calls() {
		out = append(out, c.Op)
	}
	return out
}

// Fail makes the next n calls of f.Op answer f.
func (s *Server) Fail(f Fault, n int) { s.faults.Add(f, n) }

// apiError is an error answer.
type apiError struct {
	status int
	typ    string
	msg    string
}

func validation(format string, a ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, a...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.")
	out, aerr := s.handle(r, op, body)
	call := Call{Op: op, Body: body, Status: http.StatusOK}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("fake-%d", len(s.log.Calls())+1))
	if aerr != nil {
		call.Status, call.Error = aerr.status, aerr.typ
		w.Header().Set("X-Amzn-ErrorType", aerr.typ)
		w.WriteHeader(aerr.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": aerr.typ, "message": aerr.msg})
	} else {
		json.NewEncoder(w).Encode(out)
	}
	s.log.Record(call)
}

func (s *Server) handle(r *http.Request, op string, body []byte) (any, *apiError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, &apiError{http.StatusNotFound, "UnknownOperationException", ""}
	}
	if aerr := s.authenticate(r, body); aerr != nil {
		return nil, aerr
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", fmt.Sprintf("Content-Type %q is not application/x-amz-json-1.1", ct)}
	}
	if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.") || ops[op] == nil {
		return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", ""}
	}
	if f, ok := s.faults.Take(func(f Fault) bool { return f.Op == "" || f.Op == op }); ok {
		return nil, &apiError{f.Status, f.Type, f.Message}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	s.mu.Lock()
	defer s.mu.Unlock()
	return ops[op](&s.state, dec)
}

var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/([a-z]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// authenticate checks the SigV4 signature by signing the same request
// again with the secret key: the credential scope must be this region and
// the sagemaker service, the signed headers must include host, x-amz-date
// and x-amz-target, and the signature must match.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	m := authHeader.FindStringSubmatch(auth)
	if m == nil {
		return &apiError{http.StatusBadRequest, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"}
	}
	if m[1] != s.accessKey {
		return &apiError{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if m[3] != Region || m[4] != "sagemaker" {
		return &apiError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service: %s/sagemaker, not %s/%s.", Region, m[3], m[4])}
	}
	signed := strings.Split(m[5], ";")
	for _, h := range []string{"host", "x-amz-date", "x-amz-target"} {
		if !contains(signed, h) {
			return &apiError{http.StatusForbidden, "InvalidSignatureException", "Header " + h + " must be signed."}
		}
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != m[2] {
		return &apiError{http.StatusForbidden, "InvalidSignatureException", "X-Amz-Date is missing or does not match the credential scope's date."}
	}
	clone, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	clone.Host = r.Host
	clone.ContentLength = int64(len(body))
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.accessKey, SecretAccessKey: s.secretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, clone, hex.EncodeToString(sum[:]), "sagemaker", Region, at); err != nil {
		return &apiError{http.StatusInternalServerError, "InternalFailure", err.Error()}
	}
	if got := clone.Header.Get("Authorization"); got != auth {
		return &apiError{http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
