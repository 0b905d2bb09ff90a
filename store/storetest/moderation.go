package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// reportWith files a report of reporter about reported with evidence.
func (h *harness) reportWith(reporter, reported string, ev *queue.Evidence) {
	h.t.Helper()
	if _, err := h.s.Report(h.ctx, queue.Report{Reporter: peer(reporter), Reported: peer(reported), Reason: "nudity", At: time.Now(), Evidence: ev}); err != nil {
		h.t.Fatalf("Report(%s about %s): %v", reporter, reported, err)
	}
}

func evidenceOf(text string) *queue.Evidence {
	return &queue.Evidence{Lines: []queue.EvidenceLine{{Mine: true, Text: "hi"}, {Mine: false, Text: text, At: 1700000000000}}, Still: []byte("\xff\xd8 a jpeg " + text)}
}

// Reports are kept newest first, with the reporter's and the reported's
// keys and the reason; the list says which carry evidence, the reports
// about one address carry it whole.
func testReportsKept(t *testing.T, h *harness) {
	h.report("r1@1", "bad@x")
	h.reportWith("r2@2", "bad@x", evidenceOf("rude words"))
	h.report("r3@3", "other@y")

	list, err := h.s.Reports(h.ctx, 10)
	if err != nil {
		t.Fatalf("Reports: %v", err)
	}
	if len(list) != 3 {
		t.Fatalf("Reports = %d reports, want 3: %+v", len(list), list)
	}
	got := []string{list[0].Reporter.Addr, list[1].Reporter.Addr, list[2].Reporter.Addr}
	if want := []string{addrOf("r3@3"), addrOf("r2@2"), addrOf("r1@1")}; !slices.Equal(got, want) {
		t.Fatalf("Reports by reporter = %q, want newest first %q", got, want)
	}
	if !list[1].HasEvidence || list[1].Evidence != nil || list[0].HasEvidence {
		t.Fatalf("list: HasEvidence %v/%v, evidence %v: want the list to say which, without it", list[0].HasEvidence, list[1].HasEvidence, list[1].Evidence)
	}
	if list[1].Reported.Addr != addrOf("bad@x") || list[1].Reported.ID != "bad@x" || list[1].Reason != "nudity" || list[1].At.IsZero() || list[1].ID == "" {
		t.Fatalf("kept report %+v", list[1])
	}
	if short, err := h.s.Reports(h.ctx, 1); err != nil || len(short) != 1 {
		t.Fatalf("Reports(limit 1) = %d, %v", len(short), err)
	}

	about, err := h.s.ReportsAbout(h.ctx, addrOf("bad@x"))
	if err != nil {
		t.Fatalf("ReportsAbout: %v", err)
	}
	if len(about) != 2 || about[0].Reporter.Addr != addrOf("r2@2") {
		t.Fatalf("ReportsAbout = %+v, want r2's then r1's", about)
	}
	want := evidenceOf("rude words")
	ev := about[0].Evidence
	if ev == nil || !about[0].HasEvidence || !slices.Equal(ev.Lines, want.Lines) || !bytes.Equal(ev.Still, want.Still) {
		t.Fatalf("evidence read back %+v, want %+v", ev, want)
	}
	if about[1].Evidence != nil || about[1].HasEvidence {
		t.Fatalf("a report without evidence read back with %+v", about[1].Evidence)
	}
}

// Evidence is kept for the last EvidenceKeep reports only, and for at most
// EvidenceTTL; the reports themselves stay.
func testEvidenceBounds(t *testing.T, h *harness) {
	const ttl = 400 * time.Millisecond // the test's options
	began := time.Now()
	for _, r := range []string{"r1", "r2", "r3"} {
		h.reportWith(r, "bad@x", evidenceOf(r))
	}
	about, err := h.s.ReportsAbout(h.ctx, addrOf("bad@x"))
	if err != nil {
		t.Fatalf("ReportsAbout: %v", err)
	}
	var with []string
	for _, k := range about {
		if k.Evidence != nil {
			with = append(with, k.Evidence.Lines[1].Text)
		}
	}
	if want := []string{"r3", "r2"}; len(about) != 3 || !slices.Equal(with, want) {
		t.Fatalf("evidence kept of %q (of %d reports), want the last two %q", with, len(about), want)
	}
	waitUntilExpired(began, ttl)
	h.sweep()
	about, err = h.s.ReportsAbout(h.ctx, addrOf("bad@x"))
	if err != nil {
		t.Fatalf("ReportsAbout: %v", err)
	}
	for _, k := range about {
		if k.Evidence != nil || k.HasEvidence {
			t.Fatalf("evidence of %s kept after its TTL", k.Reporter.ID)
		}
	}
	if len(about) != 3 {
		t.Fatalf("%d reports after the evidence's TTL, want the 3 kept", len(about))
	}
}

// A ban refuses the address's joins (a *BannedError), is announced in the
// event stream (EventBanned with the address), is listed, and lifted.
func testBan(t *testing.T, h *harness) {
	h.join("a@x", "b@y")
	h.expect("pair", matchedPair("a@x", "b@y")...)
	now := time.Now()
	ban := queue.Ban{Addr: addrOf("a@x"), Note: "nudity on camera", By: "mod", At: now}
	if err := h.s.Ban(h.ctx, ban); err != nil {
		t.Fatalf("Ban: %v", err)
	}
	h.expect("ban announced", queue.Event{Kind: queue.EventBanned, Addr: addrOf("a@x")})
	got, ok, err := h.s.Banned(h.ctx, addrOf("a@x"))
	if err != nil || !ok || got.Note != ban.Note || got.By != "mod" || !got.Until.IsZero() {
		t.Fatalf("Banned = %+v, %v, %v; want the ban until lifted", got, ok, err)
	}
	if _, ok, _ := h.s.Banned(h.ctx, addrOf("b@y")); ok {
		t.Fatal("another address is banned")
	}
	bans, err := h.s.Bans(h.ctx)
	if err != nil || len(bans) != 1 || bans[0].Addr != addrOf("a@x") {
		t.Fatalf("Bans = %+v, %v", bans, err)
	}
	st, err := h.s.Standings(h.ctx, []string{addrOf("a@x"), addrOf("b@y")})
	if err != nil || st[addrOf("a@x")].Ban == nil || st[addrOf("b@y")].Ban != nil {
		t.Fatalf("Standings = %+v, %v", st, err)
	}
	if lifted, err := h.s.Lift(h.ctx, addrOf("a@x")); err != nil || !lifted {
		t.Fatalf("Lift = %v, %v", lifted, err)
	}
	if lifted, err := h.s.Lift(h.ctx, addrOf("a@x")); err != nil || lifted {
		t.Fatalf("second Lift = %v, %v; want nothing to lift", lifted, err)
	}
	if _, ok, _ := h.s.Banned(h.ctx, addrOf("a@x")); ok {
		t.Fatal("banned after the lift")
	}
	if bans, _ := h.s.Bans(h.ctx); len(bans) != 0 {
		t.Fatalf("Bans after the lift = %+v", bans)
	}
}

// A ban with an end ends by itself.
func testBanEnds(t *testing.T, h *harness) {
	const d = 300 * time.Millisecond
	began := time.Now()
	if err := h.s.Ban(h.ctx, queue.Ban{Addr: addrOf("a@x"), By: "mod", At: began, Until: began.Add(d)}); err != nil {
		t.Fatalf("Ban: %v", err)
	}
	if _, ok, _ := h.s.Banned(h.ctx, addrOf("a@x")); !ok {
		t.Fatal("not banned")
	}
	waitUntilExpired(began, d)
	if _, ok, _ := h.s.Banned(h.ctx, addrOf("a@x")); ok {
		t.Fatal("still banned after the ban's end")
	}
	if bans, _ := h.s.Bans(h.ctx); len(bans) != 0 {
		t.Fatalf("Bans after the end = %+v", bans)
	}
}

// A lifted cool-down lets the address join at once, and its count of
// reporters starts again; dismissals are kept in the standing.
func testLiftCoolDown(t *testing.T, h *harness) {
	for _, r := range []string{"r1", "r2", "r3"} {
		h.report(r, "bad@x")
	}
	st, err := h.s.Standings(h.ctx, []string{addrOf("bad@x")})
	if err != nil || st[addrOf("bad@x")].CoolDownUntil.IsZero() {
		t.Fatalf("Standings during the cool-down = %+v, %v", st, err)
	}
	if lifted, err := h.s.LiftCoolDown(h.ctx, addrOf("bad@x")); err != nil || !lifted {
		t.Fatalf("LiftCoolDown = %v, %v", lifted, err)
	}
	if lifted, _ := h.s.LiftCoolDown(h.ctx, addrOf("bad@x")); lifted {
		t.Fatal("a second LiftCoolDown lifted something")
	}
	h.join("bad@x", "b@y")
	h.expect("joined after the lift", matchedPair("bad@x", "b@y")...)
	at := time.UnixMilli(time.Now().UnixMilli())
	if err := h.s.Dismiss(h.ctx, addrOf("bad@x"), at); err != nil {
		t.Fatalf("Dismiss: %v", err)
	}
	st, err = h.s.Standings(h.ctx, []string{addrOf("bad@x")})
	if err != nil || !st[addrOf("bad@x")].DismissedAt.Equal(at) || !st[addrOf("bad@x")].CoolDownUntil.IsZero() {
		t.Fatalf("Standings after the lift and dismissal = %+v, %v", st, err)
	}
}

// The audit log keeps every entry, newest first.
func testAudit(t *testing.T, h *harness) {
	now := time.UnixMilli(time.Now().UnixMilli())
	for i, action := range []string{"ban", "lift", "dismiss"} {
		e := queue.AuditEntry{At: now.Add(time.Duration(i) * time.Millisecond), By: "mod", Action: action, Addr: addrOf("a@x"), DurationMs: 1000}
		if err := h.s.Audit(h.ctx, e); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	log, err := h.s.AuditLog(h.ctx, 10)
	if err != nil || len(log) != 3 {
		t.Fatalf("AuditLog = %+v, %v", log, err)
	}
	if log[0].Action != "dismiss" || log[2].Action != "ban" || !log[2].At.Equal(now) || log[2].By != "mod" || log[2].DurationMs != 1000 {
		t.Fatalf("AuditLog = %+v, want newest first, as written", log)
	}
	if short, _ := h.s.AuditLog(h.ctx, 2); len(short) != 2 {
		t.Fatalf("AuditLog(2) = %d entries", len(short))
	}
}
