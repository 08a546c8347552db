package tracker

import "context"

// Access control for admin commands (not in the original, which lets any
// client that reaches the port reconfigure the cluster or shut the
// tracker down). With admin_allow set, a client whose address is outside
// the listed networks gets, for a "!" command, the single line
// "ERROR: admin commands are not allowed from your address" and the
// closing "."; for an admin query command, "ERR access_denied <text>".
// The connection stays usable. File commands and read-only queries
// (get_domains, get_hosts, get_devices, server_settings, fsck_status,
// ...) stay open to every client: the client library and mogfs use them.

// adminCommands are the query commands admin_allow guards: everything
// that changes domains, classes, hosts, devices or settings, or steers
// replication, fsck and rebalance.
var adminCommands = []string{
	"create_domain", "delete_domain",
	"create_class", "update_class", "delete_class",
	"create_host", "update_host", "delete_host",
	"create_device", "set_state", "set_weight",
	"set_server_setting", "replicate_now", "clear_cache", "do_monitor_round",
	"fsck_start", "fsck_stop", "fsck_reset", "fsck_clearlog",
	"rebalance_start", "rebalance_stop", "rebalance_reset", "rebalance_set_policy", "rebalance_test",
	"httpcopy",
}

const (
	deniedText = "Admin commands are not allowed from your address"
	bangDenied = "ERROR: admin commands are not allowed from your address\r\n.\r\n"
)

// guardAdmin wraps the admin commands of table with the admin_allow
// check. Without admin_allow it changes nothing.
func (s *Server) guardAdmin(table map[string]handler) {
	if !s.cfg.AdminAllow.Enabled() {
		return
	}
	for _, name := range adminCommands {
		h := table[name]
		if h == nil {
			continue
		}
		table[name] = func(ctx context.Context, r *request) reply {
			if !s.adminAllowed(r.c, r.cmd) {
				return errReply("access_denied", deniedText)
			}
			return h(ctx, r)
		}
	}
}

// adminAllowed checks the client of c against admin_allow and logs a
// refusal.
func (s *Server) adminAllowed(c *conn, cmd string) bool {
	if !s.cfg.AdminAllow.Enabled() {
		return true
	}
	if c != nil && s.cfg.AdminAllow.AllowsIP(c.clientIP) {
		return true
	}
	client := "unknown"
	if c != nil {
		client = c.ip
	}
	s.log.Warn("admin command refused: client not in admin_allow", "client", client, "cmd", cmd)
	return false
}
