package stress_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-reclaim/reclaim/stress"
)

func TestCaptureRecordsInsteadOfFailing(t *testing.T) {
	var order []string
	reached := false
	got := stress.Capture(t, func(tb testing.TB) {
		tb.Cleanup(func() { order = append(order, "first registered") })
		tb.Cleanup(func() {
			order = append(order, "second registered")
			tb.FailNow() // ends this cleanup only
		})
		tb.Log("a", "log")
		tb.Error("an", "error")
		require.True(t, tb.Failed())
		tb.Fatalf("fatal %d", 1)
		reached = true
	})
	require.False(t, reached, "Fatalf ends the function")
	require.True(t, got.Failed())
	require.False(t, got.Skipped())
	require.Equal(t, []string{"an error", "fatal 1"}, got.Messages())
	require.Equal(t, []string{"a log"}, got.Logs())
	require.True(t, got.Contains("fatal"))
	require.Equal(t, "an error\n---\nfatal 1", got.String())
	require.Equal(t, []string{"second registered", "first registered"}, order)
}

func TestCaptureSkipAndPanic(t *testing.T) {
	skipped := stress.Capture(t, func(tb testing.TB) { tb.Skipf("not %s", "today") })
	require.True(t, skipped.Skipped())
	require.False(t, skipped.Failed())
	require.Equal(t, []string{"not today"}, skipped.Logs())
	require.True(t, stress.Capture(t, func(tb testing.TB) { tb.Skip("x") }).Skipped())

	panicked := stress.Capture(t, func(tb testing.TB) { panic("oops") })
	require.True(t, panicked.Failed())
	require.Contains(t, panicked.Messages()[0], "panic: oops\ngoroutine ")

	inCleanup := stress.Capture(t, func(tb testing.TB) { tb.Cleanup(func() { panic("late") }) })
	require.Contains(t, inCleanup.String(), "panic in cleanup: late")

	bare := stress.Capture(t, func(tb testing.TB) { tb.Fail(); tb.Fatal("x") })
	require.Equal(t, []string{"x"}, bare.Messages())
}

func TestCaptureWithoutParent(t *testing.T) {
	const env = "STRESS_CAPTURE_TEST"
	var dir, artifacts string
	got := stress.Capture(nil, func(tb testing.TB) {
		require.Equal(t, "Capture", tb.Name())
		dir, artifacts = tb.TempDir(), tb.ArtifactDir()
		require.DirExists(t, dir)
		tb.Setenv(env, "set")
		require.Equal(t, "set", os.Getenv(env))
		require.NoError(t, tb.Context().Err())
		tb.Attr("key", "value")
		_, err := tb.Output().Write([]byte("dropped"))
		require.NoError(t, err)
		tb.Logf("dropped too")
		tb.Helper()
	})
	require.False(t, got.Failed(), "%s", got)
	require.Equal(t, dir, artifacts)
	require.NoDirExists(t, dir, "removed at the end")
	_, set := os.LookupEnv(env)
	require.False(t, set, "restored at the end")
}

func TestCaptureWithParent(t *testing.T) {
	got := stress.Capture(t, func(tb testing.TB) {
		require.Equal(t, t.Name(), tb.Name())
		require.DirExists(t, tb.TempDir())
		require.DirExists(t, tb.ArtifactDir())
		tb.Setenv("STRESS_CAPTURE_PARENT", "1") // t's: restored when t ends
		tb.Attr("captured", "yes")
		require.NotNil(t, tb.Output())
	})
	require.False(t, got.Failed())
}
