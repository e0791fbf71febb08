//go:build race

package loader

// raceEnabled reports a -race build, where the biggest corpus spec takes tens
// of seconds to load.
const raceEnabled = true
