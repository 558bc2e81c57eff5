package stress

import "github.com/go-reclaim/reclaim/internal/race"

// RaceEnabled reports whether the test binary was built with -race: only
// then can a late read of a poisoned Canary also be reported as a data
// race, and only then does a data race inside Capture fail the test.
const RaceEnabled = race.Enabled
