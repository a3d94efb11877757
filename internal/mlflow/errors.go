package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MLflow error codes Conveyor reacts to.
const (
	CodeNotFound     = "RESOURCE_DOES_NOT_EXIST"
	CodeInvalidParam = "INVALID_PARAMETER_VALUE"
)

// APIError is an error document returned by MLflow:
// {"error_code": "...", "message": "..."} with a non-2xx status.
type APIError struct {
	StatusCode int
	Code       string
	Message    string

	// subject names the object the request was about ("model \"fraud\" version 99")
	// so that a not-found error reads as a sentence about it.
	subject string
}

// Error reads as a sentence, for example
// `MLflow: model "fraud" version 99 does not exist (RESOURCE_DOES_NOT_EXIST)`.
func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	if e.subject != "" && e.Code == CodeNotFound {
		return fmt.Sprintf("MLflow: %s does not exist (%s)", e.subject, code)
	}
	msg := strings.TrimSuffix(strings.TrimSpace(e.Message), ".")
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.StatusCode))
	}
	if e.subject != "" {
		return fmt.Sprintf("MLflow: %s: %s (%s)", e.subject, msg, code)
	}
	return fmt.Sprintf("MLflow: %s (%s)", msg, code)
}

// IsNotFound reports whether err (or an error it wraps) is MLflow's
// RESOURCE_DOES_NOT_EXIST or an HTTP 404.
func IsNotFound(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.Code == CodeNotFound || (apiErr.Code == "" && apiErr.StatusCode == http.StatusNotFound)
}

// parseAPIError builds an APIError from a non-2xx answer. Bodies that are not
// MLflow's JSON (a proxy's HTML page, the auth app's plain text) still give a
// useful sentence.
func parseAPIError(status int, body []byte) *APIError {
	var doc struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &doc); err == nil && (doc.Code != "" || doc.Message != "") {
		return &APIError{StatusCode: status, Code: doc.Code, Message: doc.Message}
	}
	e := &APIError{StatusCode: status}
	switch status {
	case http.StatusUnauthorized:
		e.Code = "UNAUTHENTICATED"
		e.Message = "the server did not accept the credentials; check the registry's token_env (or username and password_env) in the server config"
	case http.StatusForbidden:
		e.Code = "PERMISSION_DENIED"
		e.Message = "the credentials are valid but lack permission for this model"
	case http.StatusNotFound:
		e.Message = "the endpoint was not found; check that the registry URL points at an MLflow server"
	}
	return e
}

// withSubject records what a request was about on an APIError, keeping any
// wrapping intact.
func withSubject(err error, subject string) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.subject = subject
	}
	return err
}
