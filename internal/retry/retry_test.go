package retry

import (
	"errors"
	"fmt"
	"testing"
)

func TestPermanent(t *testing.T) {
	base := errors.New("payload has no pull request")
	err := fmt.Errorf("handler: %w", Permanent(base))
	var p interface{ Permanent() bool }
	if !errors.As(err, &p) || !p.Permanent() || !errors.Is(err, base) || err.Error() != "handler: payload has no pull request" {
		t.Fatalf("Permanent lost its meaning: %v", err)
	}
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
}
