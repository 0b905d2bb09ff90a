package socketio

import (
	"reflect"
	"unsafe"
)

// fieldOf returns the field name of the struct that p points to, when it
// has one of type T; ok is false otherwise (p not a pointer to a struct,
// no such field, or one of another type). The wall reaches the library's
// and gorilla's unexported state this way (a heartbeat timer, the write
// buffer, the handshake request, gorilla's buffers), each use checked for
// its type, so that a library that changed them is found out, not
// misread: the caller then leaves that workaround out.
func fieldOf[T any](p any, name string) (field *T, ok bool) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != reflect.TypeFor[T]() {
		return nil, false
	}
	return (*T)(unsafe.Pointer(f.UnsafeAddr())), true
}
