package redisstore

import "github.com/redis/go-redis/v9"

// Keys are the names of the keys the store keeps in Redis: on a single
// Redis (or behind Sentinel) the original server's names (those from Events
// on are new), from SingleKeys; on a Redis Cluster the same names with the
// hash tag {zivro}, from ClusterKeys. A script runs on the one node that
// serves its keys' slot, and Redis refuses a script whose keys lie in
// several slots, and every state change is one script over the queue, the
// rooms, the profiles and the held sessions together: so the whole state
// lives in the one slot of {zivro}. That is one primary's worth of state,
// which is what the state needs (README, Capacity): what must spread over
// the shards is the relays, whose channels (redisrelay) carry no tag.
type Keys struct {
	QueueList         string
	QueueSet          string
	Rooms             string
	RoomDetails       string
	UserPrefix        string
	LastPartnerPrefix string
	Events            string
	// QueueSince is a hash: queued user → when it was queued (ms), for
	// the interest wait.
	QueueSince string
	// BlockPrefix + address key is a set of the address's blocks (see
	// queue.BlockMember), expiring BlockTTL after the last.
	BlockPrefix string
	// Reports is the stream of reports kept for moderators.
	Reports string
	// ReportersPrefix + address key is a sorted set of the networks
	// (queue.Peer.Net) that recently reported it, by time.
	ReportersPrefix string
	// CoolDownPrefix + address key exists while the address cools down.
	CoolDownPrefix string
	// EvidencePrefix + report id (the reports stream's entry id) is a
	// report's evidence (JSON), expiring after the evidence TTL.
	EvidencePrefix string
	// EvidenceList lists the reports with evidence kept, newest first,
	// at most the number kept.
	EvidenceList string
	// BanPrefix + address key is the address's ban (JSON), expiring
	// with it; Bans a hash of them all, for the moderators' list.
	BanPrefix string
	Bans      string
	// Dismissed is a hash: address key → when its reports were last
	// dismissed (ms).
	Dismissed string
	// Audit is the moderators' audit log, a list of JSON entries,
	// newest first, at most queue.MaxAuditEntries.
	Audit string
	// Online is a hash: instance → its connected users and when that
	// figure lapses (see census.lua).
	Online string
	// Instances is a hash: instance → when its presence lapses (ms,
	// Redis's clock); see beat.lua.
	Instances string
	// MembersPrefix + instance is the set of users who joined through
	// it, for a takeover when it dies.
	MembersPrefix string

	// The held sessions (see queue.HeldSessions). Each lives until the end
	// of its window plus heldMargin (Redis's clock), whether or not an
	// instance lapses it, and so does the held user's profile: if no
	// instance ever lapses the session, the user turns into a ghost that
	// Sweep and matching drop, never into a user who is paired while its
	// connection is down.

	// Held is a sorted set: held user → the end of its window (ms), for
	// Sweep. It expires with its latest session.
	Held string
	// HeldPrefix + user is a hash: the session's pid hash (pid), the
	// partner the client was told of (ann), its address key (addr) and
	// instance (inst), the offset of the next frame (next) and of the
	// first kept one (first), the bytes kept (bytes), the end of the
	// window (dl, ms), lost ('1': past the bounds, the frames are gone)
	// and left (why the announced partner left meanwhile, when known).
	// While it exists the user is held: never paired.
	HeldPrefix string
	// KeptPrefix + user is a list of the frames kept for the held user,
	// oldest first: the i-th (from 0) has offset first + i.
	KeptPrefix string
	// HeldAddrPrefix + address key is the set of the address's held
	// users, for StoreOptions.MaxHeldPerAddr.
	HeldAddrPrefix string
	// ListenPrefix + a random name is the stream a Listen also reads, to
	// be woken up when it stops (see Listen); read with the events in one
	// XREAD, it shares their slot.
	ListenPrefix string
	// AddressKey holds the secret of the address keys (see AddressSecret).
	AddressKey string
}

// SingleKeys are the key names on a single Redis: the original's.
func SingleKeys() Keys { return newKeys("zivro:") }

// ClusterKeys are the key names on a Redis Cluster: every one in the slot
// of the hash tag {zivro}.
func ClusterKeys() Keys { return newKeys("{zivro}:") }

// KeysFor are the key names for client: ClusterKeys for a cluster client,
// SingleKeys otherwise.
func KeysFor(client redis.UniversalClient) Keys {
	if _, ok := client.(*redis.ClusterClient); ok {
		return ClusterKeys()
	}
	return SingleKeys()
}

func newKeys(base string) Keys {
	return Keys{
		QueueList:         base + "queue:list",
		QueueSet:          base + "queue:set",
		Rooms:             base + "rooms",
		RoomDetails:       base + "room_details",
		UserPrefix:        base + "user:",
		LastPartnerPrefix: base + "last_partner:",
		Events:            base + "events",
		QueueSince:        base + "queue:since",
		BlockPrefix:       base + "blocks:",
		Reports:           base + "reports",
		ReportersPrefix:   base + "reporters:",
		CoolDownPrefix:    base + "cooldown:",
		EvidencePrefix:    base + "evidence:",
		EvidenceList:      base + "evidence",
		BanPrefix:         base + "ban:",
		Bans:              base + "bans",
		Dismissed:         base + "dismissed",
		Audit:             base + "audit",
		Online:            base + "online",
		Instances:         base + "instances",
		MembersPrefix:     base + "members:",
		Held:              base + "held",
		HeldPrefix:        base + "held:",
		KeptPrefix:        base + "kept:",
		HeldAddrPrefix:    base + "held-addr:",
		AddressKey:        base + "address-key",
		ListenPrefix:      base + "listen:",
	}
}

// lib is the KEYS every script built on lib.lua takes: the state's keys,
// then the prefixes of the keys it names itself (a profile, a held
// session...). A prefix is no key, but declared among the KEYS it shows
// the script's slot (the tag's) to the cluster, which checks that every
// declared key lies in it and routes the call there; the keys the script
// builds from the prefixes carry the tag, so they lie in that slot too.
func (k Keys) lib() []string {
	return []string{k.QueueList, k.QueueSet, k.Rooms, k.RoomDetails, k.Events, k.QueueSince, k.Instances, k.Held,
		k.UserPrefix, k.LastPartnerPrefix, k.BlockPrefix, k.CoolDownPrefix, k.MembersPrefix, k.Online,
		k.HeldPrefix, k.KeptPrefix, k.HeldAddrPrefix}
}
