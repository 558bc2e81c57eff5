package refcount

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
)

// stack is a call stack captured by runtime.Callers.
type stack []uintptr

const maxDepth = 32

func callers() stack {
	pcs := make([]uintptr, maxDepth)
	return stack(pcs[:runtime.Callers(2, pcs)])
}

// ownPrefix is the prefix of this package's function names; their frames
// are left out of reports, which start at the user's call.
var ownPrefix = reflect.TypeFor[record]().PkgPath() + "."

func (s stack) String() string {
	if len(s) == 0 {
		return "\t(not recorded: the value was made while tracking was off; see SetTracking)\n"
	}
	var b strings.Builder
	frames := runtime.CallersFrames(s)
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, ownPrefix) {
			b.WriteString("\t" + f.Function + "\n\t\t" + f.File + ":" + strconv.Itoa(f.Line) + "\n")
		}
		if !more {
			return b.String()
		}
	}
}
