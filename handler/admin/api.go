// Package admin is the moderators' side of the server: the JSON API under
// /admin/api/ (reports with their evidence, bans, lifting cool-downs,
// dismissals, the audit log), behind the admin token, and the console page
// at /admin that uses it. It reads and decides through the store's
// queue.Moderation; a ban reaches every instance through the store's event
// stream.
package admin

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/zivro/zivro/queue"
)

// Limits of the API's answers and inputs.
const (
	// scanReports is how many of the newest reports the list reads: the
	// Redis store keeps about that many.
	scanReports = 10000
	// defaultPage and maxPage bound one page of the reports list.
	defaultPage = 50
	maxPage     = 200
	// maxAudit bounds one read of the audit log.
	maxAudit = 1000
	// maxNote bounds a ban's note (characters).
	maxNote = 500
	// maxBan is the longest ban with a duration (longer: until lifted).
	maxBan = 10 * 365 * 24 * time.Hour
	// opTimeout bounds the store calls of one request.
	opTimeout = 5 * time.Second
)

// keyPattern is an address key as clientaddr makes them (hex of a keyed
// hash); anything else names no address.
var keyPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Observer counts the moderators' actions (a *metrics.Metrics).
type Observer interface {
	Moderated(action string)
}

// Config is what the API needs.
type Config struct {
	// Store keeps reports, bans, dismissals and the audit log.
	Store queue.Moderation
	// Label names the token's holder in the audit log and the log lines.
	Label string
	// Observer counts the actions; nil: none.
	Observer Observer
	Log      *slog.Logger
}

type api struct {
	cfg Config
}

// API returns the JSON API's routes under /admin/api/, without the token
// check (the caller puts it behind web.RequireToken).
func API(cfg Config) http.Handler {
	a := &api{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/api/reports", a.reports)
	mux.HandleFunc("GET /admin/api/reports/{key}", a.reportsAbout)
	mux.HandleFunc("POST /admin/api/reports/{key}/dismiss", a.dismiss)
	mux.HandleFunc("GET /admin/api/bans", a.bans)
	mux.HandleFunc("POST /admin/api/bans", a.ban)
	mux.HandleFunc("DELETE /admin/api/bans/{key}", a.lift)
	mux.HandleFunc("DELETE /admin/api/cooldowns/{key}", a.liftCoolDown)
	mux.HandleFunc("GET /admin/api/audit", a.audit)
	return mux
}

// summary is one reported address in the list.
type summary struct {
	Key string `json:"key"`
	// Reports and Reporters count the reports since the last dismissal,
	// and their distinct reporters (by address key).
	Reports   int            `json:"reports"`
	Reporters int            `json:"reporters"`
	Reasons   map[string]int `json:"reasons"`
	First     int64          `json:"first"`
	Last      int64          `json:"last"`
	// Evidence counts the reports whose evidence is still kept.
	Evidence      int      `json:"evidence"`
	CoolDownUntil int64    `json:"coolDownUntil,omitempty"`
	Banned        bool     `json:"banned"`
	Ban           *banJSON `json:"ban,omitempty"`
	DismissedAt   int64    `json:"dismissedAt,omitempty"`
	// reporters are the distinct reporters counted; kept the reports,
	// newest first, for apply.
	reporters stringSet
	kept      []queue.KeptReport
}

type stringSet map[string]struct{}

// banJSON is a ban as the API shows it (times in ms since the epoch; 0:
// until lifted).
type banJSON struct {
	Key   string `json:"key"`
	Until int64  `json:"until"`
	Note  string `json:"note,omitempty"`
	By    string `json:"by"`
	At    int64  `json:"at"`
}

func banOf(b queue.Ban) *banJSON {
	return &banJSON{Key: b.Addr, Until: msOf(b.Until), Note: b.Note, By: b.By, At: msOf(b.At)}
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// reports lists the reported addresses, newest report first, paged
// (?offset=, ?limit=); addresses whose reports were all dismissed are left
// out unless ?all=1.
func (a *api) reports(w http.ResponseWriter, r *http.Request) {
	offset, limit, err := page(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	kept, err := a.cfg.Store.Reports(ctx, scanReports)
	if err != nil {
		a.fail(w, "reports", err)
		return
	}
	byKey := map[string]*summary{}
	var keys []string
	for _, k := range kept {
		s := byKey[k.Reported.Addr]
		if s == nil {
			s = &summary{Key: k.Reported.Addr, Reasons: map[string]int{}, reporters: stringSet{}}
			byKey[k.Reported.Addr] = s
			keys = append(keys, k.Reported.Addr)
		}
		s.add(k)
	}
	standings, err := a.cfg.Store.Standings(ctx, keys)
	if err != nil {
		a.fail(w, "standings", err)
		return
	}
	all := r.URL.Query().Get("all") == "1"
	list := make([]*summary, 0, len(keys))
	for _, key := range keys {
		s := byKey[key]
		st := standings[key]
		s.apply(st)
		if !all && s.Reports == 0 {
			continue
		}
		list = append(list, s)
	}
	slices.SortStableFunc(list, func(x, y *summary) int { return cmp.Compare(y.Last, x.Last) })
	total := len(list)
	list = list[min(offset, total):min(offset+limit, total)]
	writeJSON(w, http.StatusOK, map[string]any{"reports": list, "total": total, "offset": offset, "limit": limit})
}

// add counts one report (newest first); counts are redone by apply once
// the dismissal is known.
func (s *summary) add(k queue.KeptReport) {
	at := k.At.UnixMilli()
	s.Reports++
	s.Reasons[k.Reason]++
	s.reporters[k.Reporter.Addr] = struct{}{}
	s.Reporters = len(s.reporters)
	if s.Last == 0 || at > s.Last {
		s.Last = at
	}
	if s.First == 0 || at < s.First {
		s.First = at
	}
	if k.HasEvidence {
		s.Evidence++
	}
	s.kept = append(s.kept, k)
}

// apply sets the address's standing, and leaves the reports up to its
// last dismissal out of the counts.
func (s *summary) apply(st queue.Standing) {
	s.CoolDownUntil = msOf(st.CoolDownUntil)
	if st.Ban != nil {
		s.Banned, s.Ban = true, banOf(*st.Ban)
	}
	s.DismissedAt = msOf(st.DismissedAt)
	if st.DismissedAt.IsZero() {
		return
	}
	kept := s.kept
	*s = summary{Key: s.Key, Reasons: map[string]int{}, reporters: stringSet{}, CoolDownUntil: s.CoolDownUntil, Banned: s.Banned, Ban: s.Ban, DismissedAt: s.DismissedAt}
	for _, k := range kept {
		if k.At.After(st.DismissedAt) {
			s.add(k)
		}
	}
	if s.Reports == 0 && len(kept) > 0 {
		// All reviewed: the list still shows when the last one came.
		s.Last, s.First = kept[0].At.UnixMilli(), kept[len(kept)-1].At.UnixMilli()
	}
}

// reportJSON is one report with its evidence.
type reportJSON struct {
	ID       string `json:"id"`
	At       int64  `json:"at"`
	Reason   string `json:"reason"`
	Reporter string `json:"reporter"`
	// Reported is the reported socket's id.
	Reported string        `json:"reported"`
	Evidence *evidenceJSON `json:"evidence,omitempty"`
}

type evidenceJSON struct {
	Lines []queue.EvidenceLine `json:"lines"`
	// Still is a data URL, "" when none.
	Still string `json:"still,omitempty"`
}

// reportsAbout answers one address's reports with their evidence, and its
// standing.
func (a *api) reportsAbout(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	kept, err := a.cfg.Store.ReportsAbout(ctx, key)
	if err != nil {
		a.fail(w, "reports about", err)
		return
	}
	standings, err := a.cfg.Store.Standings(ctx, []string{key})
	if err != nil {
		a.fail(w, "standing", err)
		return
	}
	st := standings[key]
	out := make([]reportJSON, 0, len(kept))
	for _, k := range kept {
		rj := reportJSON{ID: k.ID, At: k.At.UnixMilli(), Reason: k.Reason, Reporter: k.Reporter.Addr, Reported: k.Reported.ID}
		if ev := k.Evidence; ev != nil {
			ej := &evidenceJSON{Lines: ev.Lines}
			if ej.Lines == nil {
				ej.Lines = []queue.EvidenceLine{}
			}
			if len(ev.Still) > 0 {
				ej.Still = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(ev.Still)
			}
			rj.Evidence = ej
		}
		out = append(out, rj)
	}
	resp := map[string]any{"key": key, "reports": out, "banned": st.Ban != nil,
		"coolDownUntil": msOf(st.CoolDownUntil), "dismissedAt": msOf(st.DismissedAt)}
	if st.Ban != nil {
		resp["ban"] = banOf(*st.Ban)
	}
	writeJSON(w, http.StatusOK, resp)
}

// banRequest is POST /admin/api/bans's body.
type banRequest struct {
	Key string `json:"key"`
	// DurationMs is how long the ban lasts; 0 or absent: until lifted.
	DurationMs int64  `json:"durationMs"`
	Note       string `json:"note"`
}

// ban bans an address: its joins are refused, and its users on every
// instance are dropped (the store announces it).
func (a *api) ban(w http.ResponseWriter, r *http.Request) {
	var req banRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {key, durationMs?, note?}")
		return
	}
	switch {
	case !keyPattern.MatchString(req.Key):
		writeError(w, http.StatusBadRequest, "key must be an address key (32 hex digits)")
		return
	case req.DurationMs < 0 || req.DurationMs > maxBan.Milliseconds():
		writeError(w, http.StatusBadRequest, "durationMs must be 0 (until lifted) or up to ten years")
		return
	case len([]rune(req.Note)) > maxNote:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("note over %d characters", maxNote))
		return
	}
	now := time.Now()
	b := queue.Ban{Addr: req.Key, Note: req.Note, By: a.cfg.Label, At: now}
	if req.DurationMs > 0 {
		b.Until = now.Add(time.Duration(req.DurationMs) * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	if err := a.cfg.Store.Ban(ctx, b); err != nil {
		a.fail(w, "ban", err)
		return
	}
	a.done(ctx, queue.AuditEntry{At: now, By: a.cfg.Label, Action: "ban", Addr: req.Key, Note: req.Note, DurationMs: req.DurationMs})
	writeJSON(w, http.StatusCreated, banOf(b))
}

// lift ends a ban.
func (a *api) lift(w http.ResponseWriter, r *http.Request) {
	a.undo(w, r, "lift", a.cfg.Store.Lift, "no ban of that key")
}

// liftCoolDown ends a cool-down.
func (a *api) liftCoolDown(w http.ResponseWriter, r *http.Request) {
	a.undo(w, r, "lift-cool-down", a.cfg.Store.LiftCoolDown, "no cool-down of that key")
}

// undo runs a lift of action: 404 when there was nothing to lift.
func (a *api) undo(w http.ResponseWriter, r *http.Request, action string, run func(context.Context, string) (bool, error), none string) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	found, err := run(ctx, key)
	if err != nil {
		a.fail(w, action, err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, none)
		return
	}
	a.done(ctx, queue.AuditEntry{At: time.Now(), By: a.cfg.Label, Action: action, Addr: key})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// dismiss marks an address's reports so far as reviewed.
func (a *api) dismiss(w http.ResponseWriter, r *http.Request) {
	key, ok := pathKey(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	now := time.Now()
	if err := a.cfg.Store.Dismiss(ctx, key, now); err != nil {
		a.fail(w, "dismiss", err)
		return
	}
	a.done(ctx, queue.AuditEntry{At: now, By: a.cfg.Label, Action: "dismiss", Addr: key})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// bans lists the bans that hold.
func (a *api) bans(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	bans, err := a.cfg.Store.Bans(ctx)
	if err != nil {
		a.fail(w, "bans", err)
		return
	}
	out := make([]*banJSON, 0, len(bans))
	for _, b := range bans {
		out = append(out, banOf(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"bans": out})
}

// audit answers the newest entries of the audit log (?limit=, at most
// maxAudit).
func (a *api) audit(w http.ResponseWriter, r *http.Request) {
	limit := maxAudit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAudit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be 1 to %d", maxAudit))
			return
		}
		limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), opTimeout)
	defer cancel()
	entries, err := a.cfg.Store.AuditLog(ctx, limit)
	if err != nil {
		a.fail(w, "audit log", err)
		return
	}
	type entryJSON struct {
		At         int64  `json:"at"`
		By         string `json:"by"`
		Action     string `json:"action"`
		Key        string `json:"key"`
		Note       string `json:"note,omitempty"`
		DurationMs int64  `json:"durationMs,omitempty"`
	}
	out := make([]entryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, entryJSON{At: e.At.UnixMilli(), By: e.By, Action: e.Action, Key: e.Addr, Note: e.Note, DurationMs: e.DurationMs})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

// done records a moderator's action that took effect: the audit log, the
// metric, one log line (no note, no evidence, no token).
func (a *api) done(ctx context.Context, e queue.AuditEntry) {
	if a.cfg.Observer != nil {
		a.cfg.Observer.Moderated(e.Action)
	}
	a.cfg.Log.Info("moderator action", "action", e.Action, "addr", e.Addr, "by", e.By, "duration_ms", e.DurationMs)
	// The action has taken effect: a failed audit write is logged, and
	// does not turn it into a failure.
	if err := a.cfg.Store.Audit(context.WithoutCancel(ctx), e); err != nil {
		a.cfg.Log.Error("audit entry lost", "action", e.Action, "addr", e.Addr, "err", err)
	}
}

// fail answers a store failure.
func (a *api) fail(w http.ResponseWriter, op string, err error) {
	a.cfg.Log.Error("admin request failed", "op", op, "err", err)
	writeError(w, http.StatusServiceUnavailable, "store unavailable")
}

// page reads ?offset= and ?limit=.
func page(r *http.Request) (offset, limit int, err error) {
	q := r.URL.Query()
	limit = defaultPage
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxPage {
			return 0, 0, fmt.Errorf("limit must be 1 to %d", maxPage)
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, errors.New("offset must be 0 or more")
		}
	}
	return offset, limit, nil
}

// pathKey is the request's {key}, answered 400 when it is no address key.
func pathKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.PathValue("key")
	if !keyPattern.MatchString(key) {
		writeError(w, http.StatusBadRequest, "key must be an address key (32 hex digits)")
		return "", false
	}
	return key, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
