package offheap

import (
	"fmt"
	"reflect"
)

// checkPointerFree returns an error wrapping ErrPointers naming the first part
// of t that holds a Go pointer (anything the garbage collector must trace).
func checkPointerFree(t reflect.Type) error {
	if path, kind := findPointer(t, t.String()); path != "" {
		return fmt.Errorf("%w: %s is %s; store an index or a Handle instead", ErrPointers, path, kind)
	}
	return nil
}

// pointerKinds names the kinds the garbage collector must trace.
var pointerKinds = map[reflect.Kind]string{
	reflect.Pointer:       "a pointer",
	reflect.UnsafePointer: "an unsafe.Pointer",
	reflect.String:        "a string",
	reflect.Slice:         "a slice",
	reflect.Map:           "a map",
	reflect.Chan:          "a channel",
	reflect.Func:          "a func",
	reflect.Interface:     "an interface",
}

// findPointer returns the path within t of the first part that holds a Go
// pointer, and what it is; "" if t is pointer-free.
func findPointer(t reflect.Type, path string) (string, string) {
	switch t.Kind() {
	case reflect.Array:
		if t.Len() == 0 {
			return "", "" // holds nothing: `_ [0]func()` makes a struct incomparable
		}
		return findPointer(t.Elem(), path+"[]")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if p, k := findPointer(f.Type, path+"."+f.Name); p != "" {
				return p, k
			}
		}
		return "", ""
	}
	if kind, ok := pointerKinds[t.Kind()]; ok {
		return path, kind
	}
	return "", "" // booleans and numbers
}
