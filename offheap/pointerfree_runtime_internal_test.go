package offheap

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"pgregory.net/rapid"
)

// gcPointerBytes is the runtime's own answer to "does t hold Go pointers":
// the PtrBytes of its type descriptor (internal/abi.Type: Size_ then
// PtrBytes). The test checks the layout on known types before trusting it.
func gcPointerBytes(t reflect.Type) uintptr {
	rtype := (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1] // the *rtype in the interface
	return *(*uintptr)(unsafe.Add(rtype, unsafe.Sizeof(uintptr(0))))
}

var reviewLeafTypes = []reflect.Type{
	reflect.TypeFor[bool](), reflect.TypeFor[int8](), reflect.TypeFor[uint16](),
	reflect.TypeFor[int32](), reflect.TypeFor[uint64](), reflect.TypeFor[int](),
	reflect.TypeFor[uintptr](), reflect.TypeFor[float32](), reflect.TypeFor[float64](),
	reflect.TypeFor[complex64](), reflect.TypeFor[complex128](), reflect.TypeFor[struct{}](),
	reflect.TypeFor[atomic.Uint64](), reflect.TypeFor[sync.Mutex](), reflect.TypeFor[Handle](),
	// Pointer holders:
	reflect.TypeFor[*int](), reflect.TypeFor[unsafe.Pointer](), reflect.TypeFor[string](),
	reflect.TypeFor[[]byte](), reflect.TypeFor[map[int]int](), reflect.TypeFor[chan int](),
	reflect.TypeFor[func()](), reflect.TypeFor[any](), reflect.TypeFor[error](),
	reflect.TypeFor[time.Time](), reflect.TypeFor[atomic.Pointer[int]](),
	reflect.TypeFor[sync.Once](), reflect.TypeFor[[0]*int](),
}

func reviewTypeGen(depth int) *rapid.Generator[reflect.Type] {
	return rapid.Custom(func(rt *rapid.T) reflect.Type {
		kind := 0
		if depth > 0 {
			kind = rapid.IntRange(0, 2).Draw(rt, "kind")
		}
		switch kind {
		case 1:
			return reflect.ArrayOf(rapid.IntRange(0, 3).Draw(rt, "len"), reviewTypeGen(depth-1).Draw(rt, "elem"))
		case 2:
			n := rapid.IntRange(0, 4).Draw(rt, "fields")
			fields := make([]reflect.StructField, n)
			for i := range fields {
				fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: reviewTypeGen(depth-1).Draw(rt, "field")}
			}
			return reflect.StructOf(fields)
		}
		return rapid.SampledFrom(reviewLeafTypes).Draw(rt, "leaf")
	})
}

// NewSlab and NewArray refuse exactly the types the garbage collector
// must trace, whatever the nesting (arrays of structs of arrays, zero-
// length arrays of pointers, embedded library types), and the error names
// a part of the type that really holds a pointer.
func TestPointerCheckMatchesTheRuntime(t *testing.T) {
	type sanity struct {
		A int
		B *int
	}
	if gcPointerBytes(reflect.TypeFor[*int]()) != unsafe.Sizeof(uintptr(0)) ||
		gcPointerBytes(reflect.TypeFor[[4]int]()) != 0 ||
		gcPointerBytes(reflect.TypeFor[sanity]()) != unsafe.Sizeof(sanity{}) {
		t.Fatal("the type descriptor's layout changed: fix gcPointerBytes")
	}
	rapid.Check(t, func(rt *rapid.T) {
		typ := reviewTypeGen(3).Draw(rt, "type")
		err := checkPointerFree(typ)
		hasPtr := gcPointerBytes(typ) != 0
		if hasPtr != (err != nil) {
			rt.Fatalf("%v: runtime says pointers=%v, checkPointerFree says %v", typ, hasPtr, err)
		}
		if err == nil {
			return
		}
		if !errors.Is(err, ErrPointers) {
			rt.Fatalf("%v: %v does not wrap ErrPointers", typ, err)
		}
		path, kind := findPointer(typ, "T")
		part := partOf(typ, strings.TrimPrefix(path, "T"))
		if part == nil || gcPointerBytes(part) == 0 || !strings.Contains(err.Error(), kind) {
			rt.Fatalf("%v: the error %q names %q (%v), which holds no pointer", typ, err, path, part)
		}
	})
}

// partOf follows a findPointer path (".F1[].F0") from t.
func partOf(t reflect.Type, path string) reflect.Type {
	for path != "" {
		switch {
		case strings.HasPrefix(path, "[]"):
			if t.Kind() != reflect.Array {
				return nil
			}
			t, path = t.Elem(), path[2:]
		case strings.HasPrefix(path, "."):
			name, rest, _ := strings.Cut(path[1:], ".")
			name, rest2, found := strings.Cut(name, "[]")
			f, ok := t.FieldByName(name)
			if !ok {
				return nil
			}
			t = f.Type
			switch {
			case found:
				path = "[]" + rest2
				if rest != "" {
					path += "." + rest
				}
			case rest != "":
				path = "." + rest
			default:
				path = ""
			}
		default:
			return nil
		}
	}
	return t
}
