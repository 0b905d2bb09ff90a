package socketio

import (
	"slices"
	"strings"
	"testing"

	"github.com/zishang520/engine.io/v2/types"
)

// listeners behaves as the library's emitter does for what the library
// and the wall ask of it.
func TestListeners(t *testing.T) {
	record := func(heard *[]string, name string) types.Listener {
		return func(args ...any) {
			s := name
			for _, a := range args {
				s += ":" + a.(string)
			}
			*heard = append(*heard, s)
		}
	}
	tests := []struct {
		name  string
		steps func(l *listeners, heard *[]string)
		want  []string
		count map[types.EventName]int
	}{
		{
			name: "emit calls an event's listeners in order, with the arguments",
			steps: func(l *listeners, heard *[]string) {
				_ = l.On("decoded", record(heard, "a"), record(heard, "b"))
				_ = l.On("other", record(heard, "c"))
				l.Emit("decoded", "p")
			},
			want:  []string{"a:p", "b:p"},
			count: map[types.EventName]int{"decoded": 2, "other": 1, "none": 0},
		},
		{
			name: "once is called once and removed",
			steps: func(l *listeners, heard *[]string) {
				_ = l.Once("decoded", record(heard, "a"))
				l.Emit("decoded", "1")
				l.Emit("decoded", "2")
			},
			want:  []string{"a:1"},
			count: map[types.EventName]int{"decoded": 0},
		},
		{
			name: "remove takes the listener it is given back, of that event only",
			steps: func(l *listeners, heard *[]string) {
				a := record(heard, "a")
				_ = l.On("decoded", a, record(heard, "b"))
				_ = l.On("other", a)
				if !l.RemoveListener("decoded", a) {
					t.Error("RemoveListener found nothing")
				}
				if l.RemoveListener("decoded", a) {
					t.Error("RemoveListener removed a listener twice")
				}
				l.Emit("decoded")
				l.Emit("other")
			},
			want:  []string{"b", "a"},
			count: map[types.EventName]int{"decoded": 1, "other": 1},
		},
		{
			name: "a once listener can be removed before it fires",
			steps: func(l *listeners, heard *[]string) {
				a := record(heard, "a")
				_ = l.Once("decoded", a)
				l.RemoveListener("decoded", a)
				l.Emit("decoded")
			},
			count: map[types.EventName]int{"decoded": 0},
		},
		{
			name: "remove all of one event, then clear",
			steps: func(l *listeners, heard *[]string) {
				_ = l.On("decoded", record(heard, "a"), record(heard, "b"))
				_ = l.On("other", record(heard, "c"))
				if !l.RemoveAllListeners("decoded") || l.RemoveAllListeners("decoded") {
					t.Error("RemoveAllListeners: want true, then false")
				}
				l.Emit("decoded")
				l.Emit("other")
				if l.Len() != 1 || !slices.Equal(l.EventNames(), []types.EventName{"other"}) {
					t.Errorf("Len %d, EventNames %v; want 1, [other]", l.Len(), l.EventNames())
				}
				l.Clear()
				l.Emit("other")
			},
			want:  []string{"c"},
			count: map[types.EventName]int{"decoded": 0, "other": 0},
		},
		{
			name: "a listener that adds a listener runs outside the lock",
			steps: func(l *listeners, heard *[]string) {
				_ = l.On("decoded", func(...any) { _ = l.On("decoded", record(heard, "added")) })
				l.Emit("decoded")
				l.Emit("decoded")
			},
			want:  []string{"added"},
			count: map[types.EventName]int{"decoded": 3},
		},
		{
			name: "nil listeners are left out",
			steps: func(l *listeners, heard *[]string) {
				_ = l.On("decoded", nil)
				_ = l.Once("decoded", nil)
				l.Emit("decoded")
			},
			count: map[types.EventName]int{"decoded": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l listeners
			var heard []string
			tt.steps(&l, &heard)
			if !slices.Equal(heard, tt.want) {
				t.Errorf("heard %s, want %s", strings.Join(heard, " "), strings.Join(tt.want, " "))
			}
			for evt, n := range tt.count {
				if got := l.ListenerCount(evt); got != n || len(l.Listeners(evt)) != n {
					t.Errorf("%s: %d listeners, want %d", evt, got, n)
				}
			}
		})
	}
}
