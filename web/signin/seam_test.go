package signin_test

import (
	"testing"

	"github.com/conveyor-dev/conveyor/web"
	"github.com/conveyor-dev/conveyor/web/signin"
)

// Auth is the dashboard's sign-in seam.
var _ web.Auth = (*signin.Auth)(nil)

func TestFormFieldIsTheDashboards(t *testing.T) {
	if signin.CSRFField != web.CSRFField {
		t.Errorf("signin reads the CSRF token from %q, the dashboard's forms send %q", signin.CSRFField, web.CSRFField)
	}
}
