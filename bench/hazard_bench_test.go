package bench

import "testing"

func BenchmarkProtectRaw(b *testing.B)           { ProtectRaw(b) }
func BenchmarkHazardProtectReset(b *testing.B)   { HazardProtectReset(b) }
func BenchmarkHazardAcquireRelease(b *testing.B) { HazardAcquireRelease(b) }
func BenchmarkHazardRetire(b *testing.B)         { HazardRetire(b) }
func BenchmarkStackHazard(b *testing.B)          { StackHazard(b) }
func BenchmarkStackHazardParallel(b *testing.B)  { StackHazardParallel(b) }
