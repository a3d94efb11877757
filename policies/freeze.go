package policies

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/types"
)

// FreezeWindowBuiltin is the name of the Rego built-in that reads a freeze
// window (bundle/freeze.rego). It only parses: whether a window is open now,
// and what that means for a deployment, is decided in Rego.
const FreezeWindowBuiltin = "parse_freeze_window"

// The two window forms, exactly as freeze.rego's weekly_pattern and
// yearly_pattern spell them (TestFreezeWindowPatternsMatchRego keeps them in
// step).
const (
	weeklyPattern = `^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):([0-5][0-9])(?: (\S+))?$`
	yearlyPattern = `^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2}) (\S+)$`
)

var (
	weeklyRE = regexp.MustCompile(weeklyPattern)
	yearlyRE = regexp.MustCompile(yearlyPattern)

	weekdayMinutes = map[string]int{"Mon": 0, "Tue": 1440, "Wed": 2880, "Thu": 4320, "Fri": 5760, "Sat": 7200, "Sun": 8640}
	monthNumbers   = map[string]int{
		"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
		"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
	}

	weeklyTerm = ast.StringTerm("weekly")
	yearlyTerm = ast.StringTerm("yearly")
	utcTerm    = ast.StringTerm("UTC")
)

// parseFreezeWindow reads a window the way freeze.rego used to with regular
// expressions, to_number and its lookup tables:
//
//	"Fri 15:00-Mon 08:00 Europe/Berlin" -> ["weekly", 5760+900, 0+480, "Europe/Berlin"]
//	"Dec 24-Dec 26 UTC"                 -> ["yearly", 1224, 1226, "UTC"]
//
// Weekly bounds are minutes from Monday 00:00, a weekly window without a
// zone is in UTC; yearly bounds are month*100+day, both days as written. The
// zone is not checked here: the time built-ins reject a zone they cannot load,
// as they always have. A string of neither form has no value (ok is false).
func parseFreezeWindow(w string) (v *ast.Term, ok bool) {
	w = strings.TrimSpace(w)
	if m := weeklyRE.FindStringSubmatch(w); m != nil {
		zone := utcTerm
		if m[7] != "" {
			zone = ast.StringTerm(m[7])
		}
		return ast.ArrayTerm(weeklyTerm,
			ast.InternedTerm(weekdayMinutes[m[1]]+atoi(m[2])*60+atoi(m[3])),
			ast.InternedTerm(weekdayMinutes[m[4]]+atoi(m[5])*60+atoi(m[6])),
			zone), true
	}
	if m := yearlyRE.FindStringSubmatch(w); m != nil {
		return ast.ArrayTerm(yearlyTerm,
			ast.InternedTerm(monthNumbers[m[1]]*100+atoi(m[2])),
			ast.InternedTerm(monthNumbers[m[3]]*100+atoi(m[4])),
			ast.StringTerm(m[5])), true
	}
	return nil, false
}

// atoi reads the one or two digits the patterns allow.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// freezeWindows caches parsed windows: repository configs name few distinct
// windows, and parsing is a pure function of the string. The cache is
// bounded; when full it starts over.
var freezeWindows = struct {
	sync.RWMutex
	m map[string]*ast.Term // nil value: not a window
}{m: map[string]*ast.Term{}}

const freezeWindowCacheSize = 4096

func cachedFreezeWindow(w string) (*ast.Term, bool) {
	freezeWindows.RLock()
	v, hit := freezeWindows.m[w]
	freezeWindows.RUnlock()
	if hit {
		return v, v != nil
	}
	v, ok := parseFreezeWindow(w)
	freezeWindows.Lock()
	if len(freezeWindows.m) >= freezeWindowCacheSize {
		freezeWindows.m = map[string]*ast.Term{}
	}
	freezeWindows.m[w] = v
	freezeWindows.Unlock()
	return v, ok
}

func builtinFreezeWindow(_ topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
	s, ok := operands[0].Value.(ast.String)
	if !ok {
		return nil // not a string: not a window, as the regex form read it
	}
	if v, ok := cachedFreezeWindow(string(s)); ok {
		return iter(v)
	}
	return nil
}

func init() {
	ast.RegisterBuiltin(&ast.Builtin{
		Name:        FreezeWindowBuiltin,
		Description: "Reads a Conveyor freeze window: [\"weekly\", start, end, zone] or [\"yearly\", start, end, zone]; undefined for any other string.",
		Decl:        types.NewFunction(types.Args(types.A), types.NewArray(nil, types.A)),
	})
	topdown.RegisterBuiltinFunc(FreezeWindowBuiltin, builtinFreezeWindow)
}
