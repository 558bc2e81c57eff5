// Package fence chooses, once at start-up, how readers announce themselves
// to reclaimers, and gives reclaimers the barrier that matches.
//
// Every sync/atomic store is sequentially consistent: an XCHG on amd64, the
// one locked instruction a guard's entry or a hazard pointer's protection
// would otherwise pay. An announcement needs that only to order it before
// the reader's next loads, for the one reclaimer that will read it. An
// asymmetric fence moves the whole cost to that rare reader: the announcer
// uses a release store (a plain MOV on amd64, an STLR on arm64; no full
// fence), and the reclaimer, before it reads announcements, runs a
// process-wide barrier (Linux membarrier with
// MEMBARRIER_CMD_PRIVATE_EXPEDITED) that makes every thread of the process
// execute a full fence. After Heavy returns, each reader's announcement
// made before the barrier is visible, or that reader's loads after its
// announcement see everything the reclaimer made visible before it: the
// Dekker argument, with the reader's fence supplied remotely. A goroutine
// that moves between threads passes through the scheduler's locked
// instructions, which drain its stores, so migration does not break it.
//
// The asymmetric mode is used on linux/amd64 and linux/arm64 when
// membarrier registration succeeds, and never under the race detector (it
// cannot see the ordering and would report the plain stores). Everywhere
// else, and when the environment variable RECLAIM_FENCE is "sc" (in any
// case, spaces around it ignored), announcers use sequentially consistent
// stores and Heavy does nothing. Any other value, "asymmetric" for one,
// leaves the choice as without it: the asymmetric mode where it is
// available. Both modes are correct; the variable only chooses the cost.
package fence

import (
	"os"
	"strings"
	"sync/atomic"

	"github.com/go-reclaim/reclaim/internal/release"
)

// Asymmetric reports whether announcers may use release stores, so that
// reclaimers must call Heavy before reading announcements. It is fixed at
// start-up.
var Asymmetric = choose(os.Getenv("RECLAIM_FENCE"))

func choose(env string) bool {
	return !strings.EqualFold(strings.TrimSpace(env), "sc") && available()
}

// Heavy makes every announcement that any thread of the process made
// before the call visible to the caller's later loads, or else orders that
// thread's later loads after everything visible to the caller now. In the
// sequentially consistent mode the announcements are already ordered, and
// Heavy does nothing.
//
// The fence is a raw system call: the goroutine keeps its processor and
// the scheduler is not told. It takes microseconds (12 to 14, at times up to 50, on the 2-core
// development machine when every core runs a thread of the process,
// BenchmarkHeavyBusy), long enough for a system call the scheduler knows
// of to cost far more than the fence. Told, the scheduler may hand the
// processor to another goroutine, and the caller then waits for one to come
// back (seconds with thousands of goroutines) before it can act on the
// fence it paid for; and every such call sets the runtime's monitor thread
// polling every 20 us for the next milliseconds, each wake-up preempting a
// thread of the program where the cores are busy (reclaimbench's hash map
// at 90/10 on two goroutines for 4 s, with the aging timer's fences told:
// 3,400-3,800 wake-ups and 7,300-8,200 context switches; raw: 510 and
// 1,400-1,600).
func Heavy() {
	if Asymmetric {
		membarrier()
	}
}

// Mode names the mode in effect, for reports and benchmarks.
func Mode() string {
	if Asymmetric {
		return "asymmetric"
	}
	return "sc"
}

// Announce64 publishes v in *p for a reclaimer that calls Heavy before it
// reads: a release store in the asymmetric mode (a plain store on amd64, an
// STLR on arm64), a sequentially consistent one otherwise. Only one
// goroutine may write *p (its owner).
//
// The release half matters when an announcement replaces another (a
// hazard pointer protecting its next object, a guard's Refresh): the
// accesses made under the old announcement must not drift past the new
// one, or a reclaimer that sees the new one could free what they still
// touch. Heavy orders the announcement before the owner's later loads; the
// release store orders it after the owner's earlier accesses. (On arm64 an
// STLR followed by the owner's acquire re-load is already ordered, so there
// the asymmetric mode costs what the SC one does, less a full barrier.)
func Announce64(p *atomic.Uint64, v uint64) {
	if Asymmetric {
		release.StoreUint64(p, v)
	} else {
		p.Store(v)
	}
}
