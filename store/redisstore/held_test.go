package redisstore_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
)

// What a held session keeps in Redis (see keys.go), each key with a TTL of
// about the window plus a margin, the user's profile too; and that a
// resume or a lapse leaves nothing of it.
func TestHeldDataModel(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	ctx := t.Context()
	if _, err := s.Beat(ctx, "old", time.Hour); err != nil {
		t.Fatal(err)
	}
	// Every field a profile may carry survives the resume's rewrite.
	pa := queue.Profile{Name: "A/1", Gender: "g", Region: "r", Interests: []string{"x", "y"}, Language: "en", TextOnly: true, Addr: "addr a", Instance: "old"}
	pb := queue.Profile{Name: "B", TextOnly: true, Addr: "addr b"}
	for id, p := range map[string]queue.Profile{"a": pa, "b": pb} {
		if err := s.Join(ctx, id, p); err != nil {
			t.Fatal(err)
		}
	}
	const window = 20 * time.Second
	h := queue.HeldSession{PIDHash: "pid", Announced: "b", Addr: "addr a", Instance: "old", Next: 6,
		Kept: []queue.KeptFrame{{Offset: 5, Frame: []byte("five")}}}
	if err := s.Hold(ctx, "a", h, window); err != nil {
		t.Fatal(err)
	}
	if kept, err := s.Keep(ctx, "a", []byte("six")); err != nil || !kept {
		t.Fatalf("Keep = %v, %v", kept, err)
	}
	ttl := func(key string) {
		t.Helper()
		// The margin is a minute.
		if d := client.PTTL(ctx, key).Val(); d <= window || d > window+time.Minute {
			t.Errorf("%s TTL = %v, want the window (%v) plus a minute", key, d, window)
		}
	}
	heldKey, keptKey, addrKey := redisstore.SingleKeys().HeldPrefix+"a", redisstore.SingleKeys().KeptPrefix+"a", redisstore.SingleKeys().HeldAddrPrefix+"addr a"
	for _, key := range []string{redisstore.SingleKeys().Held, heldKey, keptKey, addrKey, redisstore.SingleKeys().UserPrefix + "a"} {
		ttl(key)
	}
	fields := client.HGetAll(ctx, heldKey).Val()
	for f, want := range map[string]string{"pid": "pid", "ann": "b", "addr": "addr a", "inst": "old", "next": "7", "first": "5", "bytes": "7", "lost": "0"} {
		if fields[f] != want {
			t.Errorf("%s %s = %q, want %q", heldKey, f, fields[f], want)
		}
	}
	if got := client.LRange(ctx, keptKey, 0, -1).Val(); !slices.Equal(got, []string{"five", "six"}) {
		t.Errorf("%s = %q", keptKey, got)
	}
	if got := client.SMembers(ctx, addrKey).Val(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("%s = %q", addrKey, got)
	}
	if got := client.SIsMember(ctx, redisstore.SingleKeys().MembersPrefix+"old", "a").Val(); got {
		t.Errorf("the held user is still among its instance's members")
	}
	deadline := client.ZScore(ctx, redisstore.SingleKeys().Held, "a").Val()
	if ms := int64(deadline) - time.Now().UnixMilli(); ms <= 0 || ms > window.Milliseconds() {
		t.Errorf("%s score %v: %d ms from now, want within the window", redisstore.SingleKeys().Held, deadline, ms)
	}

	r, err := s.Resume(ctx, "a", "pid", 4, "new")
	if err != nil {
		t.Fatal(err)
	}
	want := pa
	want.Instance = "new"
	if r.Profile == nil || !reflect.DeepEqual(*r.Profile, want) {
		t.Errorf("resumed profile %+v, want %+v", r.Profile, want)
	}
	if !client.SIsMember(ctx, redisstore.SingleKeys().MembersPrefix+"new", "a").Val() {
		t.Errorf("the resumed user is not among the new instance's members")
	}
	for _, key := range []string{heldKey, keptKey, addrKey, redisstore.SingleKeys().Held} {
		if n := client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("%s left after the resume", key)
		}
	}
	if d := client.PTTL(ctx, redisstore.SingleKeys().UserPrefix+"a").Val(); d <= 9*time.Minute {
		t.Errorf("profile TTL after the resume = %v, want a fresh 10m", d)
	}

	// A lapse leaves nothing of the user either.
	if err := s.Hold(ctx, "a", queue.HeldSession{PIDHash: "pid", Announced: "b", Addr: "addr a", Instance: "new"}, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Redis's clock decides when the window is over.
	eventually.True(t, 5*time.Second, func() (bool, string) {
		ended, err := s.Lapse(ctx, "a")
		if err != nil {
			t.Fatalf("Lapse: %v", err)
		}
		return ended, "Lapse after a window of 1 ms still false"
	})
	for _, key := range []string{heldKey, keptKey, addrKey, redisstore.SingleKeys().Held, redisstore.SingleKeys().UserPrefix + "a", redisstore.SingleKeys().LastPartnerPrefix + "a"} {
		if n := client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("%s left after the lapse", key)
		}
	}
	if client.SIsMember(ctx, redisstore.SingleKeys().MembersPrefix+"new", "a").Val() {
		t.Errorf("the lapsed user is still among an instance's members")
	}
}

// A profile written by another program with an empty interests list
// survives the resume's rewrite (Lua's cjson writes an empty list as {}).
func TestResumeRewritesAnEmptyList(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	ctx := t.Context()
	if err := client.Set(ctx, redisstore.SingleKeys().UserPrefix+"a", `{"name":"A","interests":[]}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Hold(ctx, "a", queue.HeldSession{PIDHash: "pid"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	r, err := s.Resume(ctx, "a", "pid", 0, "i")
	if err != nil {
		t.Fatal(err)
	}
	if r.Profile == nil || r.Profile.Name != "A" || len(r.Profile.Interests) != 0 || r.Profile.Instance != "i" {
		t.Fatalf("resumed profile %+v", r.Profile)
	}
}
