package tracker

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

var (
	boolFalseRe = regexp.MustCompile(`(?i)^(0|f|off|n)`)
	boolTrueRe  = regexp.MustCompile(`(?i)^(1|t|on|y)`)
	splitMaskRe = regexp.MustCompile(`[,\s]+`)
)

// settingValidator returns the cleaner of a writable server setting: it
// gets the value (present false when the request had none) and returns
// the value to store, or del to remove the row. ok is false for a key that
// cannot be written.
func settingValidator(key string) (clean func(v string, present bool) (val string, del bool, err error), ok bool) {
	anyValue := func(v string, present bool) (string, bool, error) { return v, !present, nil }
	delIfBlank := func(v string, _ bool) (string, bool, error) { return v, v == "" || v == "0", nil }
	boolean := func(v string, _ bool) (string, bool, error) {
		switch {
		case v == "" || v == "0":
			return "0", false, nil
		case boolFalseRe.MatchString(v):
			return "0", false, nil
		case boolTrueRe.MatchString(v):
			return "1", false, nil
		}
		return "", false, errors.New("Unknown format")
	}
	num := func(v string, _ bool) (string, bool, error) {
		if v == "" || v == "0" {
			return "0", false, nil
		}
		if isDigits(v) {
			return v, false, nil
		}
		return "", false, errors.New("Must be numeric")
	}
	netmasks := func(v string, present bool) (string, bool, error) {
		for _, m := range splitMaskRe.Split(v, -1) {
			if m == "" {
				continue
			}
			if !validNetmask(m) {
				return "", false, errors.New("Doesn't match an acceptable netmask")
			}
		}
		return v, !present, nil
	}
	switch {
	case strings.HasPrefix(key, "slave_"):
		return delIfBlank, true
	case key == "skip_devcount", key == "skip_mkcol", key == "case_sensitive_list_keys":
		return boolean, true
	case key == "memcache_servers", key == "network_zones":
		return anyValue, true
	case key == "memcache_ttl", key == "internal_queue_limit":
		return num, true
	case strings.HasPrefix(key, "zone_"):
		return netmasks, true
	case strings.HasPrefix(key, "queue_"):
		return anyValue, true
	case key == "fastpath":
		return cleanFastpath, true
	case key == "fsck_checksum":
		return func(v string, _ bool) (string, bool, error) {
			switch v {
			case "off", "MD5", "SHA-1":
				return v, false, nil
			case "class":
				return "", true, nil
			}
			return "", false, errors.New("Not a valid checksum algorithm")
		}, true
	}
	return nil, false
}

// validNetmask accepts what Net::Netmask reads in practice: a.b.c.d,
// a.b.c.d/nn, or a.b.c.d followed by a dotted mask after a colon.
func validNetmask(m string) bool {
	if strings.Contains(m, "/") {
		_, _, err := net.ParseCIDR(m)
		return err == nil
	}
	if addr, mask, ok := strings.Cut(m, ":"); ok {
		return net.ParseIP(addr).To4() != nil && net.ParseIP(mask).To4() != nil
	}
	return net.ParseIP(m).To4() != nil
}

// settingReadable hides fsck_* (but fsck_checksum) from server_settings.
func settingReadable(key string) bool {
	if key == "fsck_checksum" {
		return true
	}
	return !strings.HasPrefix(key, "fsck_")
}

func (s *Server) cmdServerSetting(ctx context.Context, r *request) reply {
	key := r.arg("key")
	if !r.truthy("key") {
		return errReply("bad_params", "")
	}
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	return okReply(wire.Args{"key": key, "value": set[key]})
}

func (s *Server) cmdServerSettings(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	a := wire.Args{}
	n := 0
	for k, v := range set {
		if !settingReadable(k) {
			continue
		}
		n++
		a["key_"+strconv.Itoa(n)] = k
		a["value_"+strconv.Itoa(n)] = v
	}
	if n > 0 {
		a["key_count"] = strconv.Itoa(n)
	}
	return okReply(a)
}

func (s *Server) cmdSetServerSetting(ctx context.Context, r *request) reply {
	key := r.arg("key")
	if !r.truthy("key") {
		return errReply("bad_params", "")
	}
	clean, ok := settingValidator(key)
	if !ok {
		return errReply("not_writable", "")
	}
	val, present := r.args["value"]
	v, del, err := clean(val, present)
	if err != nil {
		return errReply("invalid_format", err.Error())
	}
	if len(key) > 50 {
		return errReply("failure", "Setting name longer than 50 bytes")
	}
	if del {
		err = s.st.DeleteSetting(ctx, key)
	} else {
		err = s.st.SetSetting(ctx, key, v)
	}
	if err != nil {
		return s.failure(r, err)
	}
	if strings.HasPrefix(key, "slave_") {
		set, err := s.st.Settings(ctx)
		if err != nil {
			return s.failure(r, err)
		}
		n, _ := strconv.ParseInt(set["slave_version"], 10, 64)
		if err := s.st.SetSetting(ctx, "slave_version", strconv.FormatInt(n+1, 10)); err != nil {
			return s.failure(r, err)
		}
	}
	s.log.Info("server setting changed", "key", key, "value", v, "deleted", del)
	if err := s.cl.Reload(ctx); err != nil {
		s.log.Warn("reload after setting change failed", "err", err)
	}
	return okReply(nil)
}

func (s *Server) cmdReplicateNow(ctx context.Context, r *request) reply {
	n, err := s.st.ReplicateNow(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	return okReply(wire.Args{"count": strconv.FormatInt(n, 10)})
}
