package director

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// jsonDuration is a time.Duration as configuration files write it: "5s",
// or a number of seconds. Config structs keep time.Duration fields and
// convert through it in their JSON methods.
type jsonDuration time.Duration

// MarshalText writes time.Duration's spelling, "5s".
func (d jsonDuration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "5s".
func (d *jsonDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = jsonDuration(v)
	return nil
}

// UnmarshalJSON reads "5s" or a number of seconds.
func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return d.UnmarshalText([]byte(s))
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil || math.Abs(n) > math.MaxInt64/float64(time.Second) {
		return fmt.Errorf("duration: want \"5s\" or seconds, got %s", b)
	}
	*d = jsonDuration(n * float64(time.Second))
	return nil
}
