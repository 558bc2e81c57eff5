package bench

import "testing"

// Case is one benchmark of the suite with the floor it is compared to.
type Case struct {
	Name  string
	Run   func(*testing.B)
	Floor string // Name of the floor Case measured in the same run; "" for a floor
	Goal  string // the target ratio to the floor, as the issue states it
}

// Suite is every benchmark, floors first.
var Suite = append(append([]Case{}, Epoch...), Hazard...)

// Epoch lists the epoch benchmarks, floors first.
var Epoch = []Case{
	{Name: "AnnounceClear", Run: AnnounceClear},
	{Name: "StackGC", Run: StackGC},
	{Name: "StackGCParallel", Run: StackGCParallel},
	{Name: "StackNoReclaim", Run: StackNoReclaim, Floor: "StackGC", Goal: "(lower bound)"},
	{Name: "EpochEnterExit", Run: EpochEnterExit, Floor: "AnnounceClear", Goal: "<= 2x"},
	{Name: "EpochHandleEnterExit", Run: EpochHandleEnterExit, Floor: "AnnounceClear", Goal: "<= 2x"},
	{Name: "EpochRefresh", Run: EpochRefresh, Floor: "AnnounceClear", Goal: "<= 1.2x"},
	{Name: "EpochRetire", Run: EpochRetire, Floor: "AnnounceClear", Goal: "0 allocs"},
	{Name: "StackEpochPool", Run: StackEpochPool, Floor: "StackGC", Goal: "<= 0.6x"},
	{Name: "StackEpochPoolHandle", Run: StackEpochPoolHandle, Floor: "StackGC", Goal: "<= 0.6x"},
	{Name: "StackEpochPoolHot", Run: StackEpochPoolHot, Floor: "StackGC", Goal: "<= 0.6x"},
	{Name: "StackEpochPoolParallel", Run: StackEpochPoolParallel, Floor: "StackGCParallel", Goal: "<= 1.0x"},
	{Name: "StackEpochPoolHandleParallel", Run: StackEpochPoolHandleParallel, Floor: "StackGCParallel", Goal: "<= 1.0x"},
	{Name: "StackEpochPoolHotParallel", Run: StackEpochPoolHotParallel, Floor: "StackGCParallel", Goal: "<= 1.0x"},
}

// Hazard lists the hazard-pointer benchmarks. Their stack floors are in
// Epoch; Suite runs both.
var Hazard = []Case{
	{Name: "ProtectRaw", Run: ProtectRaw},
	{Name: "HazardProtectReset", Run: HazardProtectReset, Floor: "ProtectRaw", Goal: "<= 1.5x"},
	{Name: "HazardAcquireRelease", Run: HazardAcquireRelease, Goal: "<= 10.8 ns"},
	{Name: "HazardRetire", Run: HazardRetire, Goal: "0 allocs"},
	{Name: "StackHazard", Run: StackHazard, Floor: "StackGC", Goal: "<= 1.0x"},
	{Name: "StackHazardParallel", Run: StackHazardParallel, Floor: "StackGCParallel", Goal: "(none)"},
}
