package redisstore

// Key names, as the original server used them (those from EventsKey on are
// new).
const (
	QueueListKey         = "zivro:queue:list"
	QueueSetKey          = "zivro:queue:set"
	RoomsKey             = "zivro:rooms"
	RoomDetailsKey       = "zivro:room_details"
	UserKeyPrefix        = "zivro:user:"
	LastPartnerKeyPrefix = "zivro:last_partner:"
	EventsKey            = "zivro:events"
	// QueueSinceKey is a hash: queued user → when it was queued (ms), for
	// the interest wait.
	QueueSinceKey = "zivro:queue:since"
	// BlockKeyPrefix + address key is a set of the address's blocks (see
	// queue.BlockMember), expiring BlockTTL after the last.
	BlockKeyPrefix = "zivro:blocks:"
	// ReportsKey is the stream of reports kept for moderators.
	ReportsKey = "zivro:reports"
	// ReportersKeyPrefix + address key is a sorted set of the networks
	// (queue.Peer.Net) that recently reported it, by time.
	ReportersKeyPrefix = "zivro:reporters:"
	// CoolDownKeyPrefix + address key exists while the address cools down.
	CoolDownKeyPrefix = "zivro:cooldown:"
	// EvidenceKeyPrefix + report id (the reports stream's entry id) is a
	// report's evidence (JSON), expiring after the evidence TTL.
	EvidenceKeyPrefix = "zivro:evidence:"
	// EvidenceListKey lists the reports with evidence kept, newest first,
	// at most the number kept.
	EvidenceListKey = "zivro:evidence"
	// BanKeyPrefix + address key is the address's ban (JSON), expiring
	// with it; BansKey a hash of them all, for the moderators' list.
	BanKeyPrefix = "zivro:ban:"
	BansKey      = "zivro:bans"
	// DismissedKey is a hash: address key → when its reports were last
	// dismissed (ms).
	DismissedKey = "zivro:dismissed"
	// AuditKey is the moderators' audit log, a list of JSON entries,
	// newest first, at most queue.MaxAuditEntries.
	AuditKey = "zivro:audit"
	// OnlineKey is a hash: instance → its connected users and when that
	// figure lapses (see census.lua).
	OnlineKey = "zivro:online"
	// InstancesKey is a hash: instance → when its presence lapses (ms,
	// Redis's clock); see beat.lua.
	InstancesKey = "zivro:instances"
	// MembersKeyPrefix + instance is the set of users who joined through
	// it, for a takeover when it dies.
	MembersKeyPrefix = "zivro:members:"

	// The held sessions (see queue.HeldSessions). Each lives until the end
	// of its window plus heldMargin (Redis's clock), whether or not an
	// instance lapses it, and so does the held user's profile: if no
	// instance ever lapses the session, the user turns into a ghost that
	// Sweep and matching drop, never into a user who is paired while its
	// connection is down.

	// HeldKey is a sorted set: held user → the end of its window (ms), for
	// Sweep. It expires with its latest session.
	HeldKey = "zivro:held"
	// HeldKeyPrefix + user is a hash: the session's pid hash (pid), the
	// partner the client was told of (ann), its address key (addr) and
	// instance (inst), the offset of the next frame (next) and of the
	// first kept one (first), the bytes kept (bytes), the end of the
	// window (dl, ms), lost ('1': past the bounds, the frames are gone)
	// and left (why the announced partner left meanwhile, when known).
	// While it exists the user is held: never paired.
	HeldKeyPrefix = "zivro:held:"
	// KeptKeyPrefix + user is a list of the frames kept for the held user,
	// oldest first: the i-th (from 0) has offset first + i.
	KeptKeyPrefix = "zivro:kept:"
	// HeldAddrKeyPrefix + address key is the set of the address's held
	// users, for StoreOptions.MaxHeldPerAddr.
	HeldAddrKeyPrefix = "zivro:held-addr:"
)

var keys = []string{QueueListKey, QueueSetKey, RoomsKey, RoomDetailsKey, EventsKey, QueueSinceKey, InstancesKey, HeldKey}
