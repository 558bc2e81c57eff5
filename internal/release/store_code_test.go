package release

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-reclaim/reclaim/internal/race"
)

// On arm64 the release stores must be 64-bit store-release instructions
// (STLR Xt, [Xn]): a plain STR would let the owner's earlier accesses drift
// past an announcement, and STLRW would store half the word. Read the
// test binary's own code for the two assembly functions.
func TestArm64StoresAreSTLR(t *testing.T) {
	if runtime.GOARCH != "arm64" || race.Enabled {
		t.Skip("arm64 without -race only")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Skip(err)
	}
	text := f.Section(".text")
	found := 0
	for _, s := range syms {
		name := strings.TrimSuffix(s.Name, ".abi0")
		if !strings.HasSuffix(name, "internal/release.storeRelease") && !strings.HasSuffix(name, "internal/release.storeRelease64") {
			continue
		}
		if s.Size == 0 || s.Value < text.Addr {
			continue
		}
		code := make([]byte, s.Size)
		if _, err := text.ReadAt(code, int64(s.Value-text.Addr)); err != nil {
			t.Fatal(err)
		}
		stlr, plain := 0, 0
		for i := 0; i+4 <= len(code); i += 4 {
			insn := binary.LittleEndian.Uint32(code[i:])
			switch {
			case insn&0xFFFFFC00 == 0xC89FFC00: // STLR Xt, [Xn]
				stlr++
			case insn&0xFFC00000 == 0xF9000000, insn&0xFFE00C00 == 0xF8000000: // STR/STUR Xt
				plain++
			}
		}
		if stlr != 1 || plain != 0 {
			t.Errorf("%s: %d STLR (64-bit) and %d plain stores, want exactly one STLR", s.Name, stlr, plain)
		}
		found++
	}
	if found < 2 {
		t.Fatalf("found %d of the 2 assembly functions in the binary", found)
	}
}

// The release store writes the whole 64-bit word (no torn or 32-bit store).
func TestStoreUint64WholeWord(t *testing.T) {
	var w atomic.Uint64
	w.Store(^uint64(0))
	StoreUint64(&w, 0x0123456789abcdef)
	if got := w.Load(); got != 0x0123456789abcdef {
		t.Fatalf("got %#x", got)
	}
	var u atomic.Uintptr
	u.Store(^uintptr(0))
	StoreUintptr(&u, 1)
	if got := u.Load(); got != 1 {
		t.Fatalf("got %#x", got)
	}
}
