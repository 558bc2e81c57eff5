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

func findPointer(t reflect.Type, path string) (string, string) {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return "", ""
	case reflect.Array:
		return findPointer(t.Elem(), path+"[]")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if p, k := findPointer(f.Type, path+"."+f.Name); p != "" {
				return p, k
			}
		}
		return "", ""
	case reflect.Pointer:
		return path, "a pointer"
	case reflect.UnsafePointer:
		return path, "an unsafe.Pointer"
	case reflect.String:
		return path, "a string"
	case reflect.Slice:
		return path, "a slice"
	case reflect.Map:
		return path, "a map"
	case reflect.Chan:
		return path, "a channel"
	case reflect.Func:
		return path, "a func"
	case reflect.Interface:
		return path, "an interface"
	default:
		return path, "a " + t.Kind().String()
	}
}
