package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// maxIDTries bounds the MAX(id)+1 retries when another tracker takes the
// same id at the same moment.
const maxIDTries = 10

var errIDRace = errors.New("lost the id allocation race too often")

// Domains lists every domain, by dmid.
func (s *Store) Domains(ctx context.Context) ([]store.Domain, error) {
	var out []store.Domain
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT dmid, namespace FROM domain ORDER BY dmid")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d store.Domain
			var name sql.NullString
			if err := rows.Scan(&d.ID, &name); err != nil {
				return err
			}
			d.Name = name.String
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list domains: %w", err)
	}
	return out, nil
}

// CreateDomain adds a domain with dmid MAX(dmid)+1.
func (s *Store) CreateDomain(ctx context.Context, name string) (store.Domain, error) {
	var d store.Domain
	err := s.write(ctx, func(r *runner) error {
		for try := 0; try < maxIDTries; try++ {
			var maxID sql.NullInt64
			if err := r.queryRow("SELECT MAX(dmid) FROM domain{forupdate}").Scan(&maxID); err != nil {
				return err
			}
			id := int(maxID.Int64) + 1
			_, err := r.exec("INSERT INTO domain (dmid, namespace) VALUES (?, ?)", id, name)
			if err == nil {
				d = store.Domain{ID: id, Name: name}
				return nil
			}
			if !s.dup(err) {
				return err
			}
			taken, err := r.exists("SELECT 1 FROM domain WHERE namespace = ?", name)
			if err != nil {
				return err
			}
			if taken {
				return store.ErrExists
			}
		}
		return errIDRace
	})
	if err != nil {
		return store.Domain{}, fmt.Errorf("sqlstore: create domain %q: %w", name, err)
	}
	return d, nil
}

// DeleteDomain removes the domain and its "default" class row.
func (s *Store) DeleteDomain(ctx context.Context, dmid int) error {
	err := s.write(ctx, func(r *runner) error {
		if _, err := r.exec("DELETE FROM domain WHERE dmid = ?", dmid); err != nil {
			return err
		}
		_, err := r.exec("DELETE FROM class WHERE dmid = ? AND classid = 0", dmid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete domain %d: %w", dmid, err)
	}
	return nil
}

// Classes lists every class row, by dmid and classid.
func (s *Store) Classes(ctx context.Context) ([]store.Class, error) {
	var out []store.Class
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT dmid, classid, classname, mindevcount, replpolicy, hashtype FROM class ORDER BY dmid, classid")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.Class
			var name, policy sql.NullString
			var hash sql.NullInt64
			if err := rows.Scan(&c.DomainID, &c.ID, &name, &c.MinDevCount, &policy, &hash); err != nil {
				return err
			}
			c.Name, c.ReplPolicy, c.HashType = name.String, policy.String, store.HashType(hash.Int64)
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list classes: %w", err)
	}
	return out, nil
}

// CreateClass adds a class: classid 0 for the name "default", else
// MAX(classid)+1 within the domain.
func (s *Store) CreateClass(ctx context.Context, c store.Class) (store.Class, error) {
	var out store.Class
	err := s.write(ctx, func(r *runner) error {
		for try := 0; try < maxIDTries; try++ {
			id := 0
			if c.Name != "default" {
				var maxID sql.NullInt64
				if err := r.queryRow("SELECT MAX(classid) FROM class WHERE dmid = ?{forupdate}", c.DomainID).Scan(&maxID); err != nil {
					return err
				}
				id = int(maxID.Int64) + 1
			}
			_, err := r.exec("INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype) VALUES (?, ?, ?, ?, ?, ?)",
				c.DomainID, id, c.Name, c.MinDevCount, nullString(c.ReplPolicy), nullHash(c.HashType))
			if err == nil {
				out = c
				out.ID = id
				return nil
			}
			if !s.dup(err) {
				return err
			}
			taken, err := r.exists("SELECT 1 FROM class WHERE dmid = ? AND classname = ?", c.DomainID, c.Name)
			if err != nil {
				return err
			}
			if taken || id == 0 {
				return store.ErrExists
			}
		}
		return errIDRace
	})
	if err != nil {
		return store.Class{}, fmt.Errorf("sqlstore: create class %q in domain %d: %w", c.Name, c.DomainID, err)
	}
	return out, nil
}

// UpdateClass rewrites a class row's name, mindevcount, policy and hash.
func (s *Store) UpdateClass(ctx context.Context, c store.Class) error {
	err := s.autocommit(ctx, func(r *runner) error {
		n, err := affected(r.exec("UPDATE class SET classname = ?, mindevcount = ?, replpolicy = ?, hashtype = ? WHERE dmid = ? AND classid = ?",
			c.Name, c.MinDevCount, nullString(c.ReplPolicy), nullHash(c.HashType), c.DomainID, c.ID))
		if s.dup(err) {
			return store.ErrExists
		}
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: update class %d in domain %d: %w", c.ID, c.DomainID, err)
	}
	return nil
}

// DeleteClass removes a class row.
func (s *Store) DeleteClass(ctx context.Context, dmid, classid int) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM class WHERE dmid = ? AND classid = ?", dmid, classid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete class %d in domain %d: %w", classid, dmid, err)
	}
	return nil
}

// DomainHasFiles reports whether any file is in the domain.
func (s *Store) DomainHasFiles(ctx context.Context, dmid int) (bool, error) {
	var has bool
	err := s.read(ctx, func(r *runner) (err error) {
		has, err = r.exists("SELECT 1 FROM file WHERE dmid = ? LIMIT 1", dmid)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlstore: domain %d has files: %w", dmid, err)
	}
	return has, nil
}

// ClassHasFiles reports whether any file is in the class.
func (s *Store) ClassHasFiles(ctx context.Context, dmid, classid int) (bool, error) {
	var has bool
	err := s.read(ctx, func(r *runner) (err error) {
		has, err = r.exists("SELECT 1 FROM file WHERE dmid = ? AND classid = ? LIMIT 1", dmid, classid)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlstore: class %d in domain %d has files: %w", classid, dmid, err)
	}
	return has, nil
}

// exists reports whether the query returns a row.
func (r *runner) exists(tmpl string, args ...any) (bool, error) {
	var one int
	err := r.queryRow(tmpl, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ---- hosts and devices ----

// Hosts lists every host, by hostid.
func (s *Store) Hosts(ctx context.Context) ([]store.Host, error) {
	var out []store.Host
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT hostid, status, http_port, http_get_port, hostname, hostip, altip, altmask FROM host ORDER BY hostid")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h store.Host
			var status, name, ip, altip, altmask sql.NullString
			var port, getPort sql.NullInt64
			if err := rows.Scan(&h.ID, &status, &port, &getPort, &name, &ip, &altip, &altmask); err != nil {
				return err
			}
			h.Status, h.Name, h.IP, h.AltIP, h.AltMask = status.String, name.String, ip.String, altip.String, altmask.String
			h.HTTPPort, h.HTTPGetPort = int(port.Int64), int(getPort.Int64)
			out = append(out, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list hosts: %w", err)
	}
	return out, nil
}

func hostDefaults(h store.Host) store.Host {
	if h.Status == "" {
		h.Status = "down"
	}
	if h.HTTPPort == 0 {
		h.HTTPPort = 7500
	}
	return h
}

// CreateHost adds a host with hostid MAX(hostid)+1.
func (s *Store) CreateHost(ctx context.Context, h store.Host) (store.Host, error) {
	h = hostDefaults(h)
	err := s.write(ctx, func(r *runner) error {
		for try := 0; try < maxIDTries; try++ {
			var maxID sql.NullInt64
			if err := r.queryRow("SELECT MAX(hostid) FROM host{forupdate}").Scan(&maxID); err != nil {
				return err
			}
			id := int(maxID.Int64) + 1
			_, err := r.exec("INSERT INTO host (hostid, status, http_port, http_get_port, hostname, hostip, altip, altmask) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				id, h.Status, h.HTTPPort, nullInt(h.HTTPGetPort), nullString(h.Name), nullString(h.IP), nullString(h.AltIP), nullString(h.AltMask))
			if err == nil {
				h.ID = id
				return nil
			}
			if !s.dup(err) {
				return err
			}
			taken, err := r.exists("SELECT 1 FROM host WHERE hostname = ? OR hostip = ? OR altip = ?", h.Name, h.IP, nullString(h.AltIP))
			if err != nil {
				return err
			}
			if taken {
				return store.ErrExists
			}
		}
		return errIDRace
	})
	if err != nil {
		return store.Host{}, fmt.Errorf("sqlstore: create host %q: %w", h.Name, err)
	}
	return h, nil
}

// UpdateHost rewrites every column of the host row.
func (s *Store) UpdateHost(ctx context.Context, h store.Host) error {
	err := s.autocommit(ctx, func(r *runner) error {
		n, err := affected(r.exec("UPDATE host SET status = ?, http_port = ?, http_get_port = ?, hostname = ?, hostip = ?, altip = ?, altmask = ? WHERE hostid = ?",
			nullString(h.Status), nullInt(h.HTTPPort), nullInt(h.HTTPGetPort), nullString(h.Name), nullString(h.IP), nullString(h.AltIP), nullString(h.AltMask), h.ID))
		if s.dup(err) {
			return store.ErrExists
		}
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: update host %d: %w", h.ID, err)
	}
	return nil
}

// DeleteHost removes a host row.
func (s *Store) DeleteHost(ctx context.Context, hostid int) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM host WHERE hostid = ?", hostid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete host %d: %w", hostid, err)
	}
	return nil
}

// Devices lists every device, by devid. A NULL weight reads as the column
// default, 100.
func (s *Store) Devices(ctx context.Context) ([]store.Device, error) {
	var out []store.Device
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT devid, hostid, status, weight, mb_total, mb_used, mb_asof FROM device ORDER BY devid")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d store.Device
			var status sql.NullString
			var weight sql.NullInt64
			if err := rows.Scan(&d.ID, &d.HostID, &status, &weight, &d.MBTotal, &d.MBUsed, &d.MBAsOf); err != nil {
				return err
			}
			d.Status = status.String
			d.Weight = 100
			if weight.Valid {
				d.Weight = int(weight.Int64)
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list devices: %w", err)
	}
	return out, nil
}

// CreateDevice adds a device row (weight 100 when d.Weight is 0).
func (s *Store) CreateDevice(ctx context.Context, d store.Device) error {
	if d.Weight == 0 {
		d.Weight = 100
	}
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("INSERT INTO device (devid, hostid, status, weight, mb_total, mb_used, mb_asof) VALUES (?, ?, ?, ?, ?, ?, ?)",
			d.ID, d.HostID, nullString(d.Status), d.Weight, d.MBTotal, d.MBUsed, d.MBAsOf)
		if s.dup(err) {
			return store.ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create device %d: %w", d.ID, err)
	}
	return nil
}

func (s *Store) updateDevice(ctx context.Context, devid int, what, tmpl string, args ...any) error {
	err := s.autocommit(ctx, func(r *runner) error {
		n, err := affected(r.exec(tmpl, args...))
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set %s of device %d: %w", what, devid, err)
	}
	return nil
}

// SetDeviceStatus sets device.status.
func (s *Store) SetDeviceStatus(ctx context.Context, devid int, status string) error {
	return s.updateDevice(ctx, devid, "status", "UPDATE device SET status = ? WHERE devid = ?", status, devid)
}

// SetDeviceWeight sets device.weight.
func (s *Store) SetDeviceWeight(ctx context.Context, devid int, weight int) error {
	return s.updateDevice(ctx, devid, "weight", "UPDATE device SET weight = ? WHERE devid = ?", weight, devid)
}

// SetDeviceUsage sets mb_total, mb_used and mb_asof.
func (s *Store) SetDeviceUsage(ctx context.Context, devid int, mbTotal, mbUsed, asOf int64) error {
	return s.updateDevice(ctx, devid, "usage", "UPDATE device SET mb_total = ?, mb_used = ?, mb_asof = ? WHERE devid = ?", mbTotal, mbUsed, asOf, devid)
}

// ---- server settings ----

// Settings returns every server setting.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.read(ctx, func(r *runner) error {
		clear(out)
		rows, err := r.query("SELECT field, value FROM server_settings")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var v sql.NullString
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			out[k] = v.String
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read server settings: %w", err)
	}
	return out, nil
}

// SetSetting inserts or replaces a server setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("REPLACE INTO server_settings (field, value) VALUES (?, ?)", key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set server setting %q: %w", key, err)
	}
	return nil
}

// DeleteSetting removes a server setting.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM server_settings WHERE field = ?", key)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete server setting %q: %w", key, err)
	}
	return nil
}
