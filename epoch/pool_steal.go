package epoch

import (
	"github.com/go-reclaim/reclaim/internal/fence"
	"github.com/go-reclaim/reclaim/internal/release"
	"github.com/go-reclaim/reclaim/internal/spin"
)

// Robust mode: a seal takes the limbo of a slot whose holder is away.
//
// A slot's holder seals its limbo when it fills. A goroutine descheduled
// inside a guard keeps its slot, and with it the nodes that the slot's
// earlier guards retired into the limbo, for as long as it waits for a P:
// seconds with 1,024 goroutines on 2 Ps, where about 1,000 slots each held
// part of a batch (measured on the Pool stack over 10 s: at the peak,
// 26,000 of 38,000 pending nodes were in the limbos of slots whose guard
// was open). So each robust seal also asks one other slot, round robin,
// for its limbo, and seals it on that slot's behalf (sealRobust: the open
// guard's nodes stay its own) if the holder is not in Retire.
//
// The handshake. The holder's accesses to its limbo are sections
// (Retire): it announces busy (fence.Announce64, a plain store where
// fences are asymmetric) and then reads want. A seal, pinned, asks the
// next slot in turn for its limbo: it sets want to an ask that no other
// ask ever equals, then increments the era and stamps the ask with the
// era it moved it to. That seal, or a later one whose turn comes to the
// slot again, steals the limbo once a heavy fence whose load of the era
// read the stamp or later has completed (Shared.Fence returns that value;
// the fence then began after the ask, which came before the increment): it
// reads busy, and seals the limbo if busy is 0 and its compare-and-swap of
// the ask it read to limboStealing succeeds. Either the fence made the
// holder's busy visible, and the seal leaves the ask for later, or the
// holder's read of want comes after the fence and finds the ask, which it
// withdraws by compare-and-swap (the seal's then fails: a later ask is
// never equal), or limboStealing, and it waits for the seal, pinned and
// done within microseconds. Where fences are sequentially consistent,
// busy's store is itself the fence, and asks are not stamped. The holder
// never waits for an ask, only for a steal in progress, and a seal never
// waits for the holder. Everything else that touches a limbo (sealRobust,
// flushSlot) holds the slot's sealedMu, as the steal does.
//
// want is 0, limboStealing, or an ask: limboAsked plus 4 times its stamp
// (an era; where fences are sequentially consistent, the seal's turn), or,
// until the asker has stamped it, limboUnstamped plus 4 times the seal's
// turn. Eras and turns only grow, and each stamp comes from an increment of
// its own, so no two asks are equal. (With asks stamped by a read of the
// era, or all equal, a seal that had read one ask could take the limbo on
// a later one, made after the holder withdrew the first and while it was
// still in Retire.)
const (
	limboAsked     = 1
	limboStealing  = 2
	limboUnstamped = 3
)

// enterLimbo begins a section of the slot's holder on l's limbo.
func (l *poolLocal[T]) enterLimbo() {
	fence.Announce64(&l.busy, 1)
	if l.want.Load() != 0 {
		l.refuseSteal()
	}
}

// refuseSteal withdraws another slot's ask for l's limbo, or waits for its
// steal to end.
func (l *poolLocal[T]) refuseSteal() {
	var b spin.Backoff
	for {
		switch w := l.want.Load(); {
		case w == 0:
			return
		case w&limboAsked != 0: // an ask, stamped or not
			if l.want.CompareAndSwap(w, 0) {
				return
			}
		default:
			b.Pause()
		}
	}
}

// leaveLimbo ends what enterLimbo began, after the section's accesses.
func (l *poolLocal[T]) leaveLimbo() { release.StoreUint64(&l.busy, 0) }

// askLimbo asks o, the share of another slot, for its limbo, unless an
// ask or a steal is under way, or a steal left the limbo empty and the
// holder has retired nothing since; turn is the caller's, from visit. The
// caller, a seal, is pinned until it has called stealLimbo on o.
func (p *Pool[T]) askLimbo(o *poolLocal[T], turn uint64) {
	if o.owner.retired.Load() == o.emptyAt.Load() {
		return // the limbo is still as empty as a steal left it
	}
	if !fence.Asymmetric {
		o.want.CompareAndSwap(0, turn<<2|limboAsked)
		return
	}
	if ask := turn<<2 | limboUnstamped; o.want.CompareAndSwap(0, ask) {
		// If the holder withdrew the ask meanwhile, it needs no stamp.
		o.want.CompareAndSwap(ask, p.c.epoch.Add(1)<<2|limboAsked)
	}
}

// stealLimbo seals o's limbo for its holder (see sealRobust) if o has an
// ask whose stamp a completed heavy fence has reached, the holder is not
// in Retire, and the slot's batches are not locked; otherwise it leaves
// the ask for a later seal. l, the caller's share, lends a batch for the
// open guard's nodes.
func (p *Pool[T]) stealLimbo(o, l *poolLocal[T]) {
	w := o.want.Load()
	if w&3 != limboAsked || fence.Asymmetric && p.c.heavy.From() < w>>2 ||
		o.busy.Load() != 0 || !o.tryLockSealed() {
		return
	}
	if o.want.CompareAndSwap(w, limboStealing) {
		if b := o.limbo; b != nil && len(b.nodes) > 0 {
			if o.curPin != o.owner.pin.Load() {
				o.curStart = 0 // every node's guard has exited or refreshed
			}
			p.sealRobust(o, l)
			p.steals.Add(1)
		}
		if b := o.limbo; b == nil || len(b.nodes) == 0 {
			// Only the holder's Retire fills the limbo again, and it
			// counts the node within its section (countRetired).
			o.emptyAt.Store(o.owner.retired.Load())
		}
		o.want.Store(0)
	}
	o.unlockSealed()
}
