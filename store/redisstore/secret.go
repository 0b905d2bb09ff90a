package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// AddressKeyKey holds the secret of the address keys (see AddressSecret).
const AddressKeyKey = "zivro:address-key"

// AddressSecret returns the address-hash secret that every instance
// sharing client's Redis uses when none is configured (ADDRESS_HASH_KEY):
// the one kept under AddressKeyKey, after storing proposed there if the
// key is missing (nil: a new random one of 256 bits, as text). One round trip
// (SET NX GET, Redis 7); no TTL: the secret lives as long as the data it
// keys.
func AddressSecret(ctx context.Context, client redis.UniversalClient, proposed []byte) ([]byte, error) {
	if proposed == nil {
		proposed = []byte(rand.Text() + rand.Text()) // 2 × 128 bits
	}
	old, err := client.SetArgs(ctx, AddressKeyKey, proposed, redis.SetArgs{Mode: "NX", Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return proposed, nil
	case err != nil:
		return nil, fmt.Errorf("redisstore: address secret: %w", err)
	case old == "":
		return nil, fmt.Errorf("redisstore: address secret: %s is empty", AddressKeyKey)
	}
	return []byte(old), nil
}
