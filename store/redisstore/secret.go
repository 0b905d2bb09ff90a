package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// AddressSecret returns the address-hash secret that every instance
// sharing client's Redis uses when none is configured (ADDRESS_HASH_KEY):
// the one kept under Keys.AddressKey, after storing proposed there if the
// key is missing (nil: a new random one of 256 bits, as text). One round trip
// (SET NX GET, Redis 7); no TTL: the secret lives as long as the data it
// keys.
func AddressSecret(ctx context.Context, client redis.UniversalClient, proposed []byte) ([]byte, error) {
	if proposed == nil {
		proposed = []byte(rand.Text() + rand.Text()) // 2 × 128 bits
	}
	key := KeysFor(client).AddressKey
	old, err := client.SetArgs(ctx, key, proposed, redis.SetArgs{Mode: "NX", Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return proposed, nil
	case err != nil:
		return nil, fmt.Errorf("redisstore: address secret: %w", err)
	case old == "":
		return nil, fmt.Errorf("redisstore: address secret: %s is empty", key)
	}
	return []byte(old), nil
}
