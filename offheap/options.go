package offheap

// Option configures a Slab.
type Option func(*config)

type config struct {
	checked bool
}

// WithChecks turns on the checked mode, a sanitizer in the style of ASan and
// valgrind, for tests and debugging:
//
//   - every Alloc records its call stack, every Free records its own;
//   - a freed slot is filled with PoisonByte when its grace period ends, so
//     a reader that kept a pointer past its guard reads obvious garbage;
//   - before a slot is reused, Alloc verifies the poison is intact and fails
//     with ErrCorrupted (naming where the slot was allocated and freed) if
//     something wrote to it after its grace period ended;
//   - Get and Free of a stale handle and a double free return a *MisuseError
//     with the stacks of the allocation, of the free and of the misuse, as
//     long as the slot has been reused fewer than four times since (the
//     stacks of each slot's last four lives are kept; an older handle's
//     report says they are gone);
//   - Close returns an error wrapping a *LeakError (get it with errors.As;
//     it wraps ErrLeaked) listing every allocation never freed, with the
//     stack where it was allocated.
//
// Checked mode costs a runtime.Callers and a map update under a mutex per
// Alloc and Free, and a pass over the slot per reuse. Get stays lock-free.
func WithChecks() Option { return func(c *config) { c.checked = true } }

// PoisonByte is the value checked mode writes over a freed slot when its
// grace period ends.
const PoisonByte = 0xDD
