package main

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"github.com/zivro/zivro/queue"
	"strconv"
	"time"
)

// safetyConfig is the configuration of interests, blocks and reports.
type safetyConfig struct {
	interestWait    time.Duration
	blockTTL        time.Duration
	reportWindow    time.Duration
	reportThreshold int
	coolDown        time.Duration
	// addressSecret keys the hash that blocks and cool-downs are kept under.
	addressSecret []byte
}

// loadSafetyConfig reads INTEREST_WAIT_MS, BLOCK_TTL_MS, REPORT_WINDOW_MS,
// REPORT_THRESHOLD, COOL_DOWN_MS and ADDRESS_HASH_KEY through get and millis
// (see loadConfig).
func loadSafetyConfig(get func(key, fallback string) string, millis func(string, time.Duration) (time.Duration, error), redisURL string) (safetyConfig, error) {
	var c safetyConfig
	var err error
	for _, d := range []struct {
		key      string
		to       *time.Duration
		fallback time.Duration
	}{
		{"INTEREST_WAIT_MS", &c.interestWait, queue.DefaultInterestWait},
		{"BLOCK_TTL_MS", &c.blockTTL, queue.DefaultBlockTTL},
		{"REPORT_WINDOW_MS", &c.reportWindow, queue.DefaultReportWindow},
		{"COOL_DOWN_MS", &c.coolDown, queue.DefaultCoolDown},
	} {
		if *d.to, err = millis(d.key, d.fallback); err != nil {
			return safetyConfig{}, err
		}
	}
	v := get("REPORT_THRESHOLD", strconv.Itoa(queue.DefaultReportThreshold))
	if c.reportThreshold, err = strconv.Atoi(v); err != nil || c.reportThreshold < 1 {
		return safetyConfig{}, fmt.Errorf("REPORT_THRESHOLD=%q: want a positive number of reporters", v)
	}
	// Every instance sharing a Redis must hash addresses alike: without a
	// key of its own, the Redis URL they share (and its password) is the
	// secret; a lone instance on the embedded store picks one at random.
	switch key := get("ADDRESS_HASH_KEY", ""); {
	case key != "":
		c.addressSecret = []byte(key)
	case redisURL != "":
		sum := sha256.Sum256([]byte("zivro address key\x00" + redisURL))
		c.addressSecret = sum[:]
	default:
		c.addressSecret = make([]byte, 32)
		_, _ = rand.Read(c.addressSecret) // never fails (crypto/rand since Go 1.24)
	}
	return c, nil
}

// storeOptions adds the safety settings to the store's options.
func (c safetyConfig) storeOptions(o queue.StoreOptions) queue.StoreOptions {
	o.InterestWait = c.interestWait
	o.BlockTTL = c.blockTTL
	o.ReportWindow = c.reportWindow
	o.ReportThreshold = c.reportThreshold
	o.CoolDown = c.coolDown
	return o
}
