package signin_test

import (
	"github.com/conveyor-dev/conveyor/web"
	"github.com/conveyor-dev/conveyor/web/signin"
)

// Auth is the dashboard's sign-in seam.
var _ web.Auth = (*signin.Auth)(nil)
