// Package metrics is the small shared part of the daemons' Prometheus
// support: a registry holding the Go runtime and process collectors, and
// a listener of its own (--metrics-listen) that serves /metrics in the
// Prometheus text format and the Go profiler under /debug/pprof/.
//
// Each daemon package defines its own metrics (tracker/metrics.go,
// mogstored/metrics.go, gateway/metrics.go, mogfs/metrics.go), named
// mogilefs_<daemon>_...; this package knows none of them. Nothing is
// served unless a metrics address is given.
package metrics
