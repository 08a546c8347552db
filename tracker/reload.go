package tracker

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// reloadState is the configuration the last Reload left in force.
type reloadState struct {
	mu  sync.Mutex
	cfg *Config // nil: the one New was given
}

// runtimeSettings are the settings Reload applies, with their config
// keys; every other changed setting needs a restart.
var runtimeSettings = map[string]string{
	"QueryJobs": "query_jobs", "ReplicateJobs": "replicate_jobs", "DeleteJobs": "delete_jobs",
	"FsckJobs": "fsck_jobs", "ReaperJobs": "reaper_jobs", "JobMaster": "job_master",
	"NodeTimeout": "node_timeout", "ConnTimeout": "conn_timeout", "Debug": "debug",
}

// Reload applies what can change while the tracker runs from cfg (a
// fresh ParseConfig of the config file and command line, as on SIGHUP):
// the query and worker counts go through the same path as "!want", and
// node_timeout and conn_timeout take effect for the next node request.
// Debug is listed as applied but the caller sets the log level. Reload
// returns the keys it applied and the keys that changed but need a
// restart.
func (s *Server) Reload(cfg Config) (applied, restart []string) {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	old := s.cfg
	if s.reload.cfg != nil {
		old = *s.reload.cfg
	}
	want := s.setWant
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(cfg)
	for i := 0; i < nv.NumField(); i++ {
		f := nv.Type().Field(i)
		if !f.IsExported() || f.Type.Kind() == reflect.Func || f.Name == "Logger" || f.Name == "Hostname" ||
			f.Name == "Testing" || f.Name == "FakeUtilization" {
			continue
		}
		if reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			continue
		}
		key, ok := runtimeSettings[f.Name]
		if !ok {
			restart = append(restart, configKeyOf(f.Name))
			continue
		}
		switch f.Name {
		case "QueryJobs":
			want("queryworker", cfg.QueryJobs)
		case "ReplicateJobs":
			want("replicate", cfg.ReplicateJobs)
		case "DeleteJobs":
			want("delete", cfg.DeleteJobs)
		case "FsckJobs":
			want("fsck", cfg.FsckJobs)
		case "ReaperJobs":
			want("reaper", cfg.ReaperJobs)
		case "JobMaster":
			want("job_master", boolInt(cfg.JobMaster))
		case "NodeTimeout", "ConnTimeout":
			s.nodes.SetTimeouts(cfg.NodeTimeout, cfg.ConnTimeout)
			s.mon.SetConnTimeout(cfg.ConnTimeout)
		}
		applied = append(applied, key)
	}
	// Keep what needs a restart at its running value, so that it is
	// reported again on the next reload until the tracker restarts.
	next := cfg
	for _, k := range restart {
		if name, ok := fieldOfKey(k); ok {
			reflect.ValueOf(&next).Elem().FieldByName(name).Set(ov.FieldByName(name))
		}
	}
	s.reload.cfg = &next
	slices.Sort(applied)
	slices.Sort(restart)
	return applied, restart
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// configFields maps Config fields to their config keys where the name
// is not simply derived.
var configFields = map[string]string{
	"Listen": "listen", "DBDSN": "db_dsn", "DBUser": "db_user", "DBPass": "db_pass",
	"MinFreeSpaceMB": "min_free_space", "DefaultMinDevCount": "default_mindevcount",
	"ConnPoolSize": "conn_pool_size", "MogstoredStreamPort": "mogstored_stream_port",
	"RebalanceIgnoreMissing": "rebalance_ignore_missing", "ReplUseGetPort": "repl_use_get_port",
	"NoSchemaCheck": "no_schema_check", "Daemonize": "daemonize", "PIDFile": "pidfile",
	"User": "user", "MetricsListen": "metrics_listen", "AdminAllow": "admin_allow",
	"DBListConns": "db_list_conns",
}

func configKeyOf(field string) string {
	if k, ok := configFields[field]; ok {
		return k
	}
	if k, ok := runtimeSettings[field]; ok {
		return k
	}
	return fmt.Sprintf("(%s)", field)
}

func fieldOfKey(key string) (string, bool) {
	for f, k := range configFields {
		if k == key {
			return f, true
		}
	}
	return "", false
}

// setWant is what "!want <n> <job>" does once its checks passed: the
// job's pool is resized, or the count is remembered for a job that has
// not registered yet. Unlike "!want" it also works before the monitor's
// first round.
func (s *Server) setWant(job string, n int) {
	n = min(n, 500)
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	if j, ok := s.jobs.jobs[job]; ok {
		j.SetDesired(n)
	} else {
		s.jobs.want[job] = n
	}
}
